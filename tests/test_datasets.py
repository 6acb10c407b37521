"""Does coursekit.datasets find, check, download and load the course's data as documented?

Most tests read the pre-filled data cache (``COURSE_DATA_DIR``, else ``../shared/data`` beside
the repository) and skip when there is none. The download tests run against an HTTP server on
127.0.0.1 and never touch the internet.
"""
import hashlib
import http.server
import importlib.util
import io
import os
import pickle
import re
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pooch
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from coursekit import datasets  # noqa: E402
from coursekit.datasets import DataCache, DataError  # noqa: E402

PREFILLED = Path(os.environ.get("COURSE_DATA_DIR") or ROOT.parent / "shared" / "data").resolve()
needs_prefilled = pytest.mark.skipif(
    not (PREFILLED / "checksums.sha256").is_file(),
    reason=f"no pre-filled data cache with a checksums.sha256 at {PREFILLED}: set "
           "COURSE_DATA_DIR to one (see shared/data/MANIFEST.md)")
PUBLIC_MNIST = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
PUBLIC_CIFAR10 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CATS = ("catvnoncat/train_catvnoncat.h5", "catvnoncat/test_catvnoncat.h5")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def tree_state(folder):
    """Every file under ``folder`` with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in Path(folder).rglob("*") if p.is_file()}


def registry_entries(path=datasets.REGISTRY_FILE):
    """{name: (sha256, url)} as pooch reads a registry file."""
    reader = pooch.create(path="unused", base_url="")
    reader.load_registry(path)
    return {name: (sha, reader.urls.get(name)) for name, sha in reader.registry.items()}



def test_is_the_registry_read_as_pooch_reads_it():
    """The course reads its registry without pooch's shlex (a tenth of a second in each kernel):
    the same names, checksums and URLs; a line with quotes is pooch's to read; a bad line fails."""
    ours = pooch.create(path="unused", base_url="")
    datasets.load_registry(ours, datasets.REGISTRY_FILE)
    assert {name: (sha, ours.urls.get(name)) for name, sha in ours.registry.items()} == registry_entries()
    assert len(ours.registry) > 800
    text = 'a.txt ABC123\n# a comment\n\n"with space.png" 12ab https://example.org/x\nb.png ff https://example.org/b\n'
    stock, ours = pooch.create(path="unused", base_url=""), pooch.create(path="unused", base_url="")
    stock.load_registry(io.StringIO(text))
    datasets.load_registry(ours, io.StringIO(text))
    assert (ours.registry, ours.urls) == (stock.registry, stock.urls)
    assert ours.registry["with space.png"] == "12ab" and ours.registry["a.txt"] == "abc123"
    for bad in ("a.txt\n", "a b c d\n"):
        with pytest.raises(OSError):
            datasets.load_registry(pooch.create(path="unused", base_url=""), io.StringIO(bad))

def make_read_only(folder):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(stat.S_IREAD | (stat.S_IEXEC if path.is_dir() else 0))


def make_writable(folder):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(stat.S_IRWXU)


@pytest.fixture
def prefilled(monkeypatch):
    """COURSE_DATA_DIR set to the pre-filled cache, as in CI."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(PREFILLED))
    monkeypatch.delenv("COURSE_CACHE_DIR", raising=False)
    return PREFILLED


@pytest.fixture(scope="module")
def santa():
    """{split: (images, labels)}, each split loaded once for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_DATA_DIR", str(PREFILLED))
        return {split: datasets.load_santa(split) for split in datasets.SANTA_SPLITS}


@pytest.fixture
def small_copy(tmp_path):
    """A read-only copy of a few pre-filled files with their checksums.sha256."""
    copy = tmp_path / "prefilled"
    names = [*CATS, *datasets.DataCache(data_dir=PREFILLED).files("santa/validation/santa/")[:3]]
    declared = datasets.read_checksums(PREFILLED / "checksums.sha256")
    for name in names:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PREFILLED / name, copy / name)
    (copy / "checksums.sha256").write_text("".join(f"{declared[n]}  {n}\n" for n in names))
    yield SimpleNamespace(root=copy, names=names, declared=declared)
    make_writable(copy)


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``folder``; ``requests`` lists the paths asked for."""
    folder = tmp_path / "served"
    folder.mkdir()
    seen = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def send_head(self):
            seen.append(self.path)
            return super().send_head()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_port}", folder=folder,
                          requests=seen)
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def local_cache(tmp_path, entries, **options):
    """A DataCache downloading into tmp_path/cache, from a registry of {name: (sha256, url)}."""
    registry = tmp_path / "registry.txt"
    registry.write_text("".join(f"{n} {sha} {url}\n" for n, (sha, url) in entries.items()))
    return DataCache(registry=registry, cache_dir=tmp_path / "cache", **options)


# --- loaders, on the pre-filled cache ---------------------------------------------------------

@needs_prefilled
@pytest.mark.parametrize("split", ["train", "validation"])
def test_load_santa_gives_uint8_images_and_int64_labels_not_santa_first(prefilled, santa, split):
    images, labels = santa[split]
    counts = [len(datasets.files(f"santa/{split}/{c}/")) for c in ("not_santa", "santa")]
    assert min(counts) > 0
    assert images.shape == (sum(counts), 64, 64, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels.tolist() == [0] * counts[0] + [1] * counts[1]
    first_santa = datasets.files(f"santa/{split}/santa/")[0]
    expected = datasets.read_image(datasets.fetch(first_santa), 64)
    assert np.array_equal(images[counts[0]], expected)


@needs_prefilled
def test_santa_images_are_resized_with_nearest_neighbour_like_keras(prefilled, santa):
    name = datasets.files("santa/train/not_santa/")[0]
    with Image.open(PREFILLED / name) as image:
        nearest = np.asarray(image.convert("RGB").resize((64, 64), Image.Resampling.NEAREST))
        bilinear = np.asarray(image.convert("RGB").resize((64, 64), Image.Resampling.BILINEAR))
    assert np.array_equal(santa["train"][0][0], nearest)
    assert not np.array_equal(santa["train"][0][0], bilinear)


@needs_prefilled
def test_limit_gives_a_balanced_deterministic_subset_in_name_order(prefilled, santa):
    images, labels = santa["validation"]
    n_not_santa = int((labels == 0).sum())
    subset, subset_labels = datasets.load_santa("validation", limit=7)
    assert subset_labels.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert np.array_equal(subset[:4], images[:4])
    assert np.array_equal(subset[4:], images[n_not_santa:n_not_santa + 3])
    again, _ = datasets.load_santa("validation", limit=7)
    assert np.array_equal(again, subset)
    everything, _ = datasets.load_santa("validation", limit=10_000, size=8)
    assert everything.shape == (len(labels), 8, 8, 3)


def test_balanced_subset_lets_one_class_fill_in_when_the_other_runs_out():
    groups = [["a1"], ["b1", "b2", "b3", "b4"]]
    assert datasets.balanced_subset(groups, 3) == [["a1"], ["b1", "b2"]]
    assert datasets.balanced_subset(groups, 0) == [[], []]
    assert datasets.balanced_subset(groups, 99) == groups


@needs_prefilled
def test_load_santa_refuses_an_unknown_split_or_a_negative_limit(prefilled):
    with pytest.raises(ValueError, match="'train', 'validation'.*'test'"):
        datasets.load_santa("test")
    with pytest.raises(ValueError, match="limit"):
        datasets.load_santa("train", limit=-1)


@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
def test_png_rgba_and_palette_files_named_jpg_load_as_rgb(tmp_path):
    rgba = Image.new("RGBA", (40, 30), (200, 10, 20, 0))
    rgba.save(tmp_path / "rgba.jpg", format="PNG")
    rgba.convert("P").save(tmp_path / "palette.jpg", format="PNG")
    for name in ("rgba.jpg", "palette.jpg"):
        pixels = datasets.read_image(tmp_path / name, 16)
        assert pixels.shape == (16, 16, 3) and pixels.dtype == np.uint8
        assert pixels[0, 0].tolist() == [200, 10, 20]


@needs_prefilled
def test_the_cache_png_files_disguised_as_jpg_load_as_rgb(prefilled):
    disguised = [name for name in datasets.files("santa/validation/santa/")
                 if (PREFILLED / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"]
    if not disguised:
        pytest.skip("this pre-filled cache has no PNG files named .jpg")
    modes = set()
    for name in disguised:
        with Image.open(PREFILLED / name) as image:
            modes.add(image.mode)
        assert datasets.read_image(datasets.fetch(name), 64).shape == (64, 64, 3)
    assert modes - {"RGB"}, "expected RGBA or palette images among them"


@needs_prefilled
def test_load_catvnoncat_gives_the_h5_arrays_unreshaped(prefilled):
    train_x, train_y, test_x, test_y, classes = datasets.load_catvnoncat()
    assert train_x.shape == (209, 64, 64, 3) and test_x.shape == (50, 64, 64, 3)
    assert train_x.dtype == test_x.dtype == np.uint8
    assert train_y.shape == (209,) and test_y.shape == (50,)
    assert train_y.dtype == test_y.dtype == np.int64
    assert set(train_y.tolist()) == {0, 1}
    assert classes.tolist() == [b"non-cat", b"cat"]


# --- the pre-filled cache ---------------------------------------------------------------------

@needs_prefilled
def test_files_lists_only_the_files_present_in_the_prefilled_cache(small_copy, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(small_copy.root))
    in_registry = DataCache(cache_dir="unused").files("santa/validation/santa/")
    listed = datasets.files("santa/validation/santa/")
    assert listed == sorted(small_copy.names[2:]) and len(in_registry) > len(listed)
    assert datasets.files() == sorted(small_copy.names)
    monkeypatch.setenv("COURSE_DATA_DIR", str(PREFILLED))
    assert all((PREFILLED / name).is_file() for name in datasets.files())
    assert "cifar10/cifar10.npz" in datasets.files("cifar10/")  # declared by the cache itself


@needs_prefilled
def test_prefilled_files_are_checked_against_the_cache_own_checksums(prefilled, tmp_path):
    path = datasets.fetch("mnist/mnist.npz")
    declared = datasets.read_checksums(PREFILLED / "checksums.sha256")["mnist/mnist.npz"]
    assert path == PREFILLED / "mnist" / "mnist.npz"
    assert pooch.file_hash(str(path)) == declared != PUBLIC_MNIST
    (tmp_path / "mnist").mkdir()  # the same file, without checksums.sha256: the registry decides
    shutil.copy2(path, tmp_path / "mnist" / "mnist.npz")
    with pytest.raises(DataError, match=f"sha256 is {declared}, expected {PUBLIC_MNIST}"):
        DataCache(data_dir=tmp_path).fetch("mnist/mnist.npz")


@needs_prefilled
def test_a_tampered_prefilled_file_is_refused_and_left_untouched(small_copy, monkeypatch):
    name = small_copy.names[-1]
    target = small_copy.root / name
    target.write_bytes(target.read_bytes()[:-10] + b"tampered!!")
    make_read_only(small_copy.root)
    before = tree_state(small_copy.root)
    monkeypatch.setenv("COURSE_DATA_DIR", str(small_copy.root))
    with pytest.raises(DataError) as refused:
        datasets.fetch(name)
    message = str(refused.value)
    assert str(target) in message
    assert f"expected {small_copy.declared[name]}" in message
    assert f"sha256 is {sha256(target.read_bytes())}" in message
    assert "restore it" in message and "COURSE_DATA_DIR" in message
    assert datasets.fetch(small_copy.names[0]) == small_copy.root / small_copy.names[0]
    assert tree_state(small_copy.root) == before


@needs_prefilled
def test_a_file_missing_from_the_prefilled_cache_is_a_clear_error(small_copy, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(small_copy.root))
    with pytest.raises(DataError) as missing:
        datasets.fetch("mnist/mnist.npz")
    message = str(missing.value)
    assert "mnist/mnist.npz is missing" in message and str(small_copy.root) in message
    assert "unset COURSE_DATA_DIR" in message and "Add the file" in message
    assert datasets.files("mnist/") == []
    with pytest.raises(DataError, match="No santa/train/ images are known"):
        datasets.load_santa("train")


@needs_prefilled
def test_loading_never_writes_into_the_prefilled_cache(prefilled, small_copy, monkeypatch):
    before = tree_state(PREFILLED)
    datasets.load_santa("validation", limit=6)
    datasets.load_catvnoncat()
    datasets.fetch("mnist/mnist.npz")
    assert tree_state(PREFILLED) == before
    make_read_only(small_copy.root)
    monkeypatch.setenv("COURSE_DATA_DIR", str(small_copy.root))
    assert datasets.load_santa("validation", limit=3)[0].shape == (3, 64, 64, 3)
    assert datasets.load_catvnoncat()[0].shape == (209, 64, 64, 3)


@needs_prefilled
def test_a_verified_file_is_hashed_again_only_when_it_changes(small_copy, monkeypatch):
    make_writable(small_copy.root)
    calls = []
    real_hash = pooch.file_hash
    monkeypatch.setattr(pooch, "file_hash", lambda *a, **k: calls.append(a) or real_hash(*a, **k))
    cache = DataCache(data_dir=small_copy.root)
    cache.fetch(CATS[1])
    cache.fetch(CATS[1])
    assert len(calls) == 1
    os.utime(small_copy.root / CATS[1], ns=(0, 10**18))
    cache.fetch(CATS[1])
    assert len(calls) == 2


def test_unknown_names_and_bad_cache_folders_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataError, match=r"Unknown data file 'mnist\.npz'.*"
                                        r"'mnist/mnist\.npz'.*files\(\) lists"):
        datasets.fetch("mnist.npz")
    assert datasets.default_cache().pooch.abspath == tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="not a folder.*unset COURSE_DATA_DIR"):
        datasets.fetch("mnist/mnist.npz")


def test_importing_the_module_does_not_import_tensorflow_or_keras():
    code = ("import sys, coursekit.datasets; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- downloads, from a server on 127.0.0.1 ----------------------------------------------------

def test_a_good_download_is_cached_and_not_requested_again(tmp_path, server):
    (server.folder / "good.bin").write_bytes(b"good data")
    entries = {"demo/good.bin": (sha256(b"good data"), f"{server.url}/good.bin")}
    path = local_cache(tmp_path, entries).fetch("demo/good.bin")
    assert path == tmp_path / "cache" / "demo" / "good.bin"
    assert path.read_bytes() == b"good data"
    assert server.requests == ["/good.bin"]
    assert local_cache(tmp_path, entries).fetch("demo/good.bin") == path  # a new process, say
    assert server.requests == ["/good.bin"]


def test_a_corrupt_download_is_refused_and_nothing_is_left_in_the_cache(tmp_path, server):
    (server.folder / "bad.bin").write_bytes(b"not what was published")
    expected = sha256(b"what was published")
    url = f"{server.url}/bad.bin"
    cache = local_cache(tmp_path, {"demo/bad.bin": (expected, url)})
    with pytest.raises(DataError) as refused:
        cache.fetch("demo/bad.bin")
    message = str(refused.value)
    assert "demo/bad.bin" in message and url in message and f"expected {expected}" in message
    assert f"sha256 is {sha256(b'not what was published')}" in message
    assert tree_state(tmp_path / "cache") == {}


def test_a_corrupt_file_in_the_download_cache_is_reported_not_replaced(tmp_path, server):
    (server.folder / "good.bin").write_bytes(b"good data")
    cache = local_cache(tmp_path, {"demo/good.bin": (sha256(b"good data"),
                                                     f"{server.url}/good.bin")})
    cached = tmp_path / "cache" / "demo" / "good.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    with pytest.raises(DataError, match=rf"{re.escape(str(cached))} .*sha256 is "
                                        rf"{sha256(b'truncated')}, expected "
                                        rf"{sha256(b'good data')}\. Delete that file"):
        cache.fetch("demo/good.bin")
    assert cached.read_bytes() == b"truncated" and server.requests == []


def test_an_unreachable_server_fails_within_seconds_with_a_clear_error(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: the port refuses connections, and is ours
    url = f"http://127.0.0.1:{closed.getsockname()[1]}/file.bin"
    cache = local_cache(tmp_path, {"demo/file.bin": (sha256(b"x"), url)})
    start = time.monotonic()
    with closed, pytest.raises(DataError) as unreachable:
        cache.fetch("demo/file.bin")
    assert time.monotonic() - start < 10
    message = str(unreachable.value)
    assert "demo/file.bin" in message and url in message and "could not be reached" in message
    assert "set COURSE_DATA_DIR" in message
    assert tree_state(tmp_path / "cache") == {}


def test_a_server_that_never_answers_times_out(tmp_path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections in the kernel, never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/file.bin"
    try:
        cache = local_cache(tmp_path, {"demo/file.bin": (sha256(b"x"), url)}, timeout=(1, 1))
        start = time.monotonic()
        with pytest.raises(DataError, match="could not be reached.*COURSE_DATA_DIR"):
            cache.fetch("demo/file.bin")
        assert time.monotonic() - start < 10
    finally:
        silent.close()
    assert datasets.TIMEOUT[0] <= 10


def test_a_file_missing_on_the_server_gives_a_clear_error(tmp_path, server):
    url = f"{server.url}/gone.bin"
    cache = local_cache(tmp_path, {"demo/gone.bin": (sha256(b"x"), url)})
    with pytest.raises(DataError) as missing:
        cache.fetch("demo/gone.bin")
    message = str(missing.value)
    assert "demo/gone.bin" in message and url in message and "HTTP 404" in message
    assert server.requests == ["/gone.bin"]
    assert tree_state(tmp_path / "cache") == {}


# --- the registry -----------------------------------------------------------------------------

@needs_prefilled
def test_registry_has_the_manifest_hash_of_every_file_but_the_cache_own_subsets():
    registry = registry_entries()
    declared = datasets.read_checksums(PREFILLED / "checksums.sha256")
    for name, sha in declared.items():
        if name not in ("mnist/mnist.npz", "cifar10/cifar10.npz"):
            assert registry[name][0] == sha, name
    assert "cifar10/cifar10.npz" not in registry
    assert sum(name.startswith("santa/") for name in registry) == \
        sum(name.startswith("santa/") for name in declared)


def test_public_mnist_and_cifar10_entries_carry_the_published_hashes():
    registry = registry_entries()
    assert registry["mnist/mnist.npz"] == (
        PUBLIC_MNIST, "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
    assert registry["cifar10/cifar-10-python.tar.gz"] == (
        PUBLIC_CIFAR10, "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")


def test_every_url_is_https_and_github_ones_are_pinned_to_a_commit():
    pinned = re.compile(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/")
    for name, (sha, url) in registry_entries().items():
        assert re.fullmatch(r"[0-9a-f]{64}", sha), name
        assert url and url.startswith("https://"), name
        if "github" in url:
            assert pinned.match(url), url
        if name.startswith("santa/"):
            assert url.endswith("/data/" + name.removeprefix("santa/")), url


@needs_prefilled
def test_registry_file_is_what_make_registry_writes_from_the_checksums():
    spec = importlib.util.spec_from_file_location("make_registry", ROOT / "admin" /
                                                  "make_registry.py")
    make_registry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_registry)
    assert make_registry.registry_entries(PREFILLED / "checksums.sha256") == registry_entries()


# --- MNIST and CIFAR-10 ----------------------------------------------------------------------

@needs_prefilled
def test_load_mnist_gives_keras_layout_with_any_number_of_training_images(prefilled):
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    assert x_train.dtype == np.uint8 and x_train.shape[1:] == (28, 28) and len(x_train) == len(y_train)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10))


@needs_prefilled
def test_load_cifar10_gives_keras_layout_with_column_labels(prefilled):
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10()
    assert x_train.dtype == np.uint8 and x_train.shape[1:] == (32, 32, 3)
    assert y_train.shape == (len(x_train), 1) and y_test.shape == (len(x_test), 1)
    assert set(np.unique(y_test)) == set(range(10)) and len(datasets.CIFAR10_CLASSES) == 10


def cifar_archive(path, batches):
    """A small archive in the layout of the public cifar-10-python.tar.gz."""
    with tarfile.open(path, "w:gz") as archive:
        for name, (images, labels) in batches.items():
            rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)  # channel first, as published
            data = pickle.dumps({b"data": rows, b"labels": list(map(int, labels))})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_the_public_cifar_archive_is_downloaded_and_read_into_keras_layout(tmp_path, server):
    rng = np.random.default_rng(0)
    parts = {name: (rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, size=n))
             for name, n in (("data_batch_1", 3), ("data_batch_2", 2), ("test_batch", 4))}
    cifar_archive(server.folder / "cifar-10-python.tar.gz", parts)
    data = (server.folder / "cifar-10-python.tar.gz").read_bytes()
    cache = local_cache(tmp_path, {"cifar10/cifar-10-python.tar.gz": (sha256(data), f"{server.url}/cifar-10-python.tar.gz")})
    (x_train, y_train), (x_test, y_test) = datasets.load_cifar10(cache)
    assert np.array_equal(x_train, np.concatenate([parts["data_batch_1"][0], parts["data_batch_2"][0]]))
    assert y_train.shape == (5, 1) and y_train.dtype == np.uint8
    assert np.array_equal(y_train.ravel(), np.r_[parts["data_batch_1"][1], parts["data_batch_2"][1]])
    assert np.array_equal(x_test, parts["test_batch"][0]) and y_test.shape == (4, 1)
    assert server.requests == ["/cifar-10-python.tar.gz"]


def test_an_npz_without_the_keras_keys_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "odd.npz", images=np.zeros(3))
    with pytest.raises(DataError, match="has no x_train, y_train, x_test, y_test"):
        datasets.read_npz(tmp_path / "odd.npz")
