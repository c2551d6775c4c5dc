"""Data on disk: block readers, the streaming batch source, estimators fitted on files, chunked output."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from deepclust.methods import DEC, AutoencoderEmbedding
from deepclust.methods.streaming import BlockBatches, DiskArray, check_array_or_disk, open_array, transform_to_npy
from deepclust.train.batches import TensorBatches


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def npy(tmp_path):
    X = np.random.default_rng(0).random((1000, 6)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, X)
    return X, path


def test_npy_rows_are_read_by_block_and_converted(tmp_path, npy):
    X, path = npy
    data = open_array(path)
    assert data.shape == (1000, 6) and isinstance(data, DiskArray)
    np.testing.assert_array_equal(data.read(997, 2000), X[997:])  # a block past the end is cut
    np.save(tmp_path / "u8.npy", np.arange(12, dtype=np.uint8).reshape(4, 3))
    block = open_array(tmp_path / "u8.npy").read(1, 3)
    assert block.dtype == np.float32 and block.tolist() == [[3, 4, 5], [6, 7, 8]]
    mm = np.load(path, mmap_mode="r")
    np.testing.assert_array_equal(open_array(mm).read(10, 20), X[10:20])  # the memmap's file, read by rows
    np.testing.assert_array_equal(open_array(mm[100:200]).read(0, 5), X[100:105])  # a view: sliced


def test_bad_files_are_refused_with_the_reason(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((5, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match="Fortran"):
        open_array(tmp_path / "f.npy")
    np.save(tmp_path / "3d.npy", np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        open_array(tmp_path / "3d.npy")
    np.save(tmp_path / "s.npy", np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="real numbers"):
        open_array(tmp_path / "s.npy")
    with pytest.raises(FileNotFoundError):
        open_array(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match=".npy or .parquet"):
        (tmp_path / "x.csv").write_text("a\n1\n")
        open_array(tmp_path / "x.csv")
    X = np.ones((50, 4), dtype=np.float32)
    X[37, 2] = np.nan
    np.save(tmp_path / "nan.npy", X)
    data = open_array(tmp_path / "nan.npy")
    data.read(0, 30)  # values are checked as they are read
    with pytest.raises(ValueError, match=r"row 37, column 2"):
        data.read(30, 50)
    with pytest.raises(ValueError, match="expecting 5 features"):
        check_array_or_disk(tmp_path / "nan.npy", n_features=5, owner="AutoencoderEmbedding")


def test_parquet_and_array_likes_read_across_their_chunks(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    X = np.random.default_rng(1).random((250, 3))
    table = pa.table({f"f{j}": X[:, j] for j in range(3)})
    pq.write_table(table, tmp_path / "x.parquet", row_group_size=40)
    data = open_array(tmp_path / "x.parquet")
    assert data.shape == (250, 3)
    np.testing.assert_allclose(data.read(35, 130), X[35:130], rtol=1e-6)  # spans three row groups
    pq.write_table(pa.table({"f": X[:, 0], "name": ["a"] * 250}), tmp_path / "mixed.parquet")
    with pytest.raises(ValueError, match="'name'.*not numeric"):
        open_array(tmp_path / "mixed.parquet")
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "x.h5", "w") as fh:
        fh["X"] = X
    with h5py.File(tmp_path / "x.h5", "r") as fh:
        np.testing.assert_allclose(check_array_or_disk(fh["X"]).read(200, 250), X[200:], rtol=1e-6)


def _epoch_rows(source, seed, batch_size, **kw):
    gen = torch.Generator().manual_seed(seed)
    return [(idx.clone(), batch[0].clone()) for idx, batch in source.epoch(gen, batch_size, **kw)]


def test_block_shuffle_visits_every_row_once_in_full_minibatches(npy):
    X, path = npy
    source = BlockBatches(open_array(path), torch.device("cpu"), block_rows=70, window_blocks=3)
    batches = _epoch_rows(source, 0, 64)
    rows = torch.cat([i for i, _ in batches])
    assert sorted(rows.tolist()) == list(range(1000))  # every row exactly once
    assert [len(i) for i, _ in batches] == [64] * 15 + [40]  # leftovers carried across windows
    for idx, xb in batches:
        np.testing.assert_array_equal(xb.numpy(), X[idx.numpy()])
    # shuffled across the file: a minibatch draws from several blocks, far apart
    assert len({int(r) // 70 for r in batches[0][0]}) >= 3
    again = _epoch_rows(source, 0, 64)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))  # seeded
    gen = torch.Generator().manual_seed(0)
    source.skip_epoch(gen)
    second = [i for i, _ in source.epoch(gen, 64)]
    gen2 = torch.Generator().manual_seed(0)
    list(source.epoch(gen2, 64))
    assert all(torch.equal(a, b) for a, b in zip(second, [i for i, _ in source.epoch(gen2, 64)]))  # resume replays


@pytest.mark.parametrize("make", [lambda X, p: TensorBatches((torch.from_numpy(X),)), lambda X, p: BlockBatches(open_array(p), torch.device("cpu"), block_rows=70, window_blocks=3)])
def test_ranks_get_disjoint_shards_of_each_minibatch(npy, make):
    X, path = npy
    source = make(X, path)
    whole = _epoch_rows(source, 3, 64)
    r0, r1 = _epoch_rows(source, 3, 64, rank=0, world_size=2), _epoch_rows(source, 3, 64, rank=1, world_size=2)
    assert len(r0) == len(r1) == len(whole)
    for (i, _), (a, xa), (b, _) in zip(whole, r0, r1):
        assert set(a.tolist()).isdisjoint(b.tolist()) and sorted(a.tolist() + b.tolist()) == sorted(i.tolist())
        np.testing.assert_array_equal(xa.numpy(), X[a.numpy()])


def test_one_window_streams_exactly_like_memory(npy):
    X, path = npy
    kw = dict(latent_dim=2, hidden_dims=(8,), epochs=2, batch_size=100, precision="float32", device="cpu", random_state=0)
    mem, disk = AutoencoderEmbedding(**kw).fit(X), AutoencoderEmbedding(**kw).fit(str(path))
    assert mem.history_["loss"] == disk.history_["loss"]
    np.testing.assert_array_equal(mem.transform(X), disk.transform(path))
    np.testing.assert_array_equal(mem.transform(X), disk.transform(np.load(path, mmap_mode="r")))


def test_dec_fits_a_file_as_it_fits_the_array(tmp_path):
    X, _ = make_blobs(400, n_features=8, centers=3, random_state=0)
    X = X.astype(np.float32)
    np.save(tmp_path / "b.npy", X)
    emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(16,), epochs=3, precision="float32", device="cpu")
    a = DEC(3, embedding=emb, max_iter=20, update_interval=10, random_state=0).fit(X)
    b = DEC(3, embedding=emb, max_iter=20, update_interval=10, random_state=0).fit(tmp_path / "b.npy")
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(b.predict(tmp_path / "b.npy"), b.labels_)


def test_transform_to_npy_writes_the_codes_in_chunks(tmp_path, npy):
    X, path = npy
    emb = AutoencoderEmbedding(latent_dim=3, hidden_dims=(8,), epochs=1, precision="float32", device="cpu", random_state=0).fit(X)
    out = transform_to_npy(emb, path, tmp_path / "codes.npy", chunk_rows=300)
    codes = np.load(out, mmap_mode="r")
    assert codes.shape == (1000, 3)
    np.testing.assert_allclose(codes, emb.transform(X), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="features"):
        transform_to_npy(emb, np.ones((5, 2), dtype=np.float32), tmp_path / "bad.npy")
    assert not (tmp_path / "bad.npy").exists()  # atomic: nothing left behind


def test_streaming_a_file_does_not_load_it(tmp_path):
    # 96 MB on disk, read in 1.6 MB blocks, 4 per window. The child trains one epoch in memory
    # on 2048 rows first (torch's own first-step allocations), then one streamed epoch on the
    # file: its peak RSS may grow by far less than the file (np.load or a memmap would add 96 MB).
    path = tmp_path / "big.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(30_000, 800))
    X[:] = np.random.default_rng(0).random((30_000, 800), dtype=np.float32)
    X.flush()
    del X
    script = textwrap.dedent(f"""
        import torch
        torch.set_num_threads(1)
        from deepclust.methods.streaming import BlockBatches, open_array
        from deepclust.nn import mlp_autoencoder
        from deepclust.train import fit_module
        def hwm():
            return int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]) / 1024
        def epoch(data):
            ae = mlp_autoencoder(800, [8], 2)
            return fit_module(ae, lambda m, b, s: ((m(b[0]) - b[0]) ** 2).mean(), data, epochs=1, batch_size=512,
                              optimizer=torch.optim.Adam(ae.parameters()), generator=torch.Generator().manual_seed(0))
        epoch((torch.rand(2048, 800),))
        before = hwm()
        state = epoch(BlockBatches(open_array({str(path)!r}), torch.device("cpu"), block_rows=500, window_blocks=4))
        assert state.step == 59, state.step  # every row was trained on
        print(before, hwm())
    """)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    before, after = map(float, subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout.split()[-2:])
    assert after - before < 40, f"streaming a 96 MB file raised peak RSS by {after - before:.0f} MB"


def test_pieces_that_cannot_stream_get_the_file_read_into_memory(npy):
    from deepclust.methods import AutoencoderClustering, RawFeatures

    X, path = npy
    on_disk = AutoencoderClustering(3, embedding=RawFeatures(), random_state=0).fit(path)
    in_memory = AutoencoderClustering(3, embedding=RawFeatures(), random_state=0).fit(X)
    np.testing.assert_array_equal(on_disk.labels_, in_memory.labels_)
    np.testing.assert_array_equal(on_disk.predict(np.load(path, mmap_mode="r")), on_disk.labels_)


def test_old_import_path_re_exports_the_moved_names():
    import deepclust.datasets as datasets
    import deepclust.methods.streaming as old
    import deepclust.train.batches as batches

    assert old.DiskArray is datasets.DiskArray and old.open_array is datasets.open_array
    assert old.transform_to_npy is datasets.transform_to_npy and old.BlockBatches is batches.BlockBatches
