"""The course's data: one registry of public files and one local cache, on top of pooch.

    from coursekit.datasets import fetch, files, load_santa, load_catvnoncat
    train_x, train_y = load_santa("train")         # (m, 64, 64, 3) uint8, labels 0/1
    path = fetch("mnist/mnist.npz")                # a verified local copy of one file
    files("santa/validation/")                     # the names under a folder

Every file has a name (``santa/train/santa/00000001.jpg``, ``catvnoncat/train_catvnoncat.h5``,
...), a sha256 and a public URL, listed in ``registry.txt`` next to this module (written by
``admin/make_registry.py``). Where the files live:

* ``COURSE_DATA_DIR`` set: a **read-only**, pre-filled cache with the same layout. It is never
  written to. When it has a ``checksums.sha256`` listing a file, the file is checked against that
  hash (such a cache may hold its own version of a file, e.g. a smaller MNIST, or files that are
  not public downloads, e.g. ``cifar10/cifar10.npz``); otherwise against the registry's.
* otherwise files are downloaded on first use into ``COURSE_CACHE_DIR``, or pooch's per-user
  cache folder ``nn-course``, and checked against the registry's sha256.

Any unknown, missing, corrupt or undownloadable file raises :class:`DataError`, which says how to
fix it. Files are never deleted or overwritten: a corrupt file is reported, not replaced.

A grader sets ``COURSE_DECODED_DIR`` to arrays it decoded once for the whole class
(``decoded.py``): the loaders below then read those instead of decoding the same files again.
"""
import difflib
import functools
import inspect
import io
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pooch
import requests
from PIL import Image

from . import decoded

REGISTRY_FILE = Path(__file__).with_name("registry.txt")
SANTA_SPLITS = ("train", "validation")
SANTA_CLASSES = ("not_santa", "santa")  # label 0, label 1: alphabetical, as in Keras
TIMEOUT = (5, 60)  # seconds to connect to a server, seconds to wait for its next bytes
USE_PREFILLED = ("unset COURSE_DATA_DIR so that the course downloads its data into its own "
                 "cache")
_verified = set()  # (path, mtime, size, sha256) of the files already checked by this process


class DataError(RuntimeError):
    """A data file is unknown, missing, corrupt, or could not be downloaded."""


def read_checksums(path):
    """``{name: sha256}`` from a file in ``sha256sum`` format (``<sha256>  <name>`` a line)."""
    checksums = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sha256, name = line.split(maxsplit=1)
            checksums[name.strip().lstrip("*")] = sha256.lower()
    return checksums


def load_registry(into, registry):
    """Read the registry file ``registry`` (a path or an open file) into the Pooch ``into``, as
    ``Pooch.load_registry`` reads it. pooch splits each line with ``shlex``, a tenth of a second
    for the course's 900 lines in every kernel that loads data; a line without quotes or
    backslashes splits the same on whitespace, and any other line goes to pooch's own reading."""
    if hasattr(registry, "read"):
        text = registry.read()
    else:
        text = Path(registry).read_text(encoding="utf-8")
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    plain, other = [], []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            (other if any(c in line for c in "\"'\\") else plain).append(line)
    for line in plain:
        elements = line.split()
        if len(elements) not in (2, 3):
            raise OSError(f"Invalid entry in the registry file: '{line}'")
        if len(elements) == 3:
            into.urls[elements[0]] = elements[2]
        into.registry[elements[0]] = elements[1].lower()
    if other:
        into.load_registry(io.StringIO("\n".join(other)))


def verify(path, expected, fix):
    """Check that ``path`` has the sha256 ``expected``; ``fix`` says what to do if not."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, expected)
    if key in _verified:
        return
    found = pooch.file_hash(str(path))
    if found != expected:
        raise DataError(f"{path} is corrupt or not the expected file: its sha256 is {found}, "
                        f"expected {expected}. {fix}")
    _verified.add(key)


class DataCache:
    """The registry of the course's files, and where to find them.

    ``registry``: a registry file (path or open file) in pooch's format ``<name> <sha256> <url>``.
    ``data_dir``: a read-only pre-filled cache, or None to download into ``cache_dir`` (default:
    pooch's user cache folder ``nn-course``). ``timeout``: seconds, as for ``requests``.
    """

    def __init__(self, registry=REGISTRY_FILE, data_dir=None, cache_dir=None, timeout=TIMEOUT):
        self.pooch = pooch.create(path=cache_dir or pooch.os_cache("nn-course"), base_url="",
                                  allow_updates=False)
        load_registry(self.pooch, registry)
        self.timeout = timeout
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.declared = {}  # the pre-filled cache's own checksums
        if self.data_dir is not None:
            if not self.data_dir.is_dir():
                raise DataError(f"COURSE_DATA_DIR is {data_dir}, which is not a folder: point it "
                                f"at a pre-filled data cache, or {USE_PREFILLED}.")
            if (self.data_dir / "checksums.sha256").is_file():
                self.declared = read_checksums(self.data_dir / "checksums.sha256")

    def names(self):
        """Every known name: the registry's, and those a pre-filled cache declares."""
        return set(self.pooch.registry) | set(self.declared)

    def files(self, prefix=""):
        """The known names that start with ``prefix``, sorted; only those present if pre-filled."""
        names = sorted(name for name in self.names() if name.startswith(prefix))
        if self.data_dir is None:
            return names
        return [name for name in names if (self.data_dir / name).is_file()]

    def expected(self, name):
        """The sha256 the file ``name`` must have (the pre-filled cache's own, else the registry's)."""
        return self.declared.get(name) or self.pooch.registry.get(name)

    def to_download(self, names):
        """Those of ``names`` that a fetch would have to download first."""
        if self.data_dir is not None:
            return []
        return [name for name in names if not (self.pooch.abspath / name).exists()]

    def fetch(self, name):
        """The local path of the file ``name``, checked against its sha256."""
        if name not in self.names():
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(f"Unknown data file {name!r}.{hint} coursekit.datasets.files() lists "
                            "the known names, files('santa/train/') those under a folder.")
        if self.data_dir is not None:
            return self._fetch_prefilled(name)
        return self._fetch_download(name)

    def _fetch_prefilled(self, name):
        path = self.data_dir / name
        if not path.is_file():
            raise DataError(f"{name} is missing from the pre-filled data cache {self.data_dir} "
                            f"(COURSE_DATA_DIR). Add the file there, or {USE_PREFILLED}.")
        if name in self.declared:
            expected, source = self.declared[name], "checksums.sha256"
        else:
            expected, source = self.pooch.registry[name], "the course's registry"
        verify(path, expected, f"(Expected hash from {source}.) The file was left untouched: "
                               f"restore it in the pre-filled cache, or {USE_PREFILLED}.")
        return path

    def _fetch_download(self, name):
        path, expected = self.pooch.abspath / name, self.pooch.registry[name]
        if path.exists():
            verify(path, expected, "Delete that file so that it downloads again.")
            return path
        url = self.pooch.get_url(name)
        logger = pooch.get_logger()
        level = logger.level
        logger.setLevel("WARNING")  # one line per file is too much for ~900 images
        try:
            self.pooch.fetch(name, downloader=pooch.HTTPDownloader(timeout=self.timeout))
        except ValueError as error:  # pooch found the wrong sha256 and deleted the download
            found = re.search(r"but got (\w+)", str(error))
            raise DataError(
                f"The download of {name} from {url} is corrupt: its sha256 is "
                f"{found.group(1) if found else 'different'}, expected {expected}. Nothing was "
                "saved. Try again later; if it keeps failing, the source has changed: tell the "
                "course staff, or set COURSE_DATA_DIR to a pre-filled data cache.") from None
        except requests.exceptions.RequestException as error:
            raise DataError(f"Could not download {name} from {url}: {describe(error)}. Check "
                            "your internet connection, or set COURSE_DATA_DIR to a folder that "
                            "holds the course's data (a pre-filled cache).") from error
        finally:
            logger.setLevel(level)
        verify(path, expected, "Delete that file so that it downloads again.")
        return path


def describe(error):
    """A short reason for a failed HTTP request."""
    if error.response is not None:
        return f"the server answered HTTP {error.response.status_code}"
    return f"the server could not be reached ({type(error).__name__})"


_caches = {}


def default_cache():
    """The :class:`DataCache` that ``COURSE_DATA_DIR`` and ``COURSE_CACHE_DIR`` ask for."""
    data_dir = os.environ.get("COURSE_DATA_DIR") or None
    cache_dir = os.environ.get("COURSE_CACHE_DIR") or None
    key = tuple(None if d is None else Path(d).resolve() for d in (data_dir, cache_dir))
    if key not in _caches:
        _caches[key] = DataCache(data_dir=key[0], cache_dir=key[1])
    return _caches[key]


def fetch(name):
    """The verified local path (a ``pathlib.Path``) of the data file ``name``."""
    return default_cache().fetch(name)


def files(prefix=""):
    """The names of the data files under ``prefix`` (e.g. ``"santa/train/"``), sorted."""
    return default_cache().files(prefix)


def _decodable(sources):
    """A loader whose result may come from the grader's decoded arrays (``decoded.py``).

    ``sources(*arguments)`` lists the files the call reads, as (name, sha256), or None where the
    call is not one to look up. The loader keeps its own behaviour, errors included, wherever
    no entry matches; one given a ``cache`` of its own always reads the files.
    """
    def wrap(decode):
        signature = inspect.signature(decode)

        @functools.wraps(decode)
        def loader(*args, **kwargs):
            if os.environ.get(decoded.FOLDER_VARIABLE):
                try:
                    bound = signature.bind(*args, **kwargs)
                except TypeError:
                    return decode(*args, **kwargs)
                bound.apply_defaults()
                arguments = bound.arguments
                if arguments.pop("cache", None) is None:
                    arguments = tuple(arguments.values())
                    try:
                        found = sources(*arguments)
                        hit = decoded.lookup(decode.__name__, arguments, found) if found else None
                    except Exception:  # noqa: BLE001 - the files then say what is wrong, as always
                        hit = None
                    if hit is not None:
                        return hit
            return decode(*args, **kwargs)

        loader.sources, loader.decode = sources, decode
        return loader
    return wrap


def _files_of(*names):
    cache = default_cache()
    return [(name, cache.expected(name)) for name in names]


def read_image(path, size):
    """An image file as a (size, size, 3) uint8 array, resized like Keras does by default."""
    with Image.open(path) as image:  # some .jpg files are really PNG, RGBA or palette images
        return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.NEAREST))


def balanced_subset(groups, limit):
    """The first names of each group, taken in turn until ``limit`` names are taken."""
    taken = [0] * len(groups)
    while sum(taken) < limit and any(n < len(g) for n, g in zip(taken, groups)):
        for i, group in enumerate(groups):
            if sum(taken) < limit and taken[i] < len(group):
                taken[i] += 1
    return [group[:n] for group, n in zip(groups, taken)]


def _santa_names(split, limit, cache):
    groups = [cache.files(f"santa/{split}/{label}/") for label in SANTA_CLASSES]
    return groups if limit is None else balanced_subset(groups, limit)


def _santa_sources(split="train", size=64, limit=None):
    if split not in SANTA_SPLITS or not isinstance(size, int) or not (limit is None or isinstance(limit, int)):
        return None
    return _files_of(*(name for group in _santa_names(split, limit, default_cache()) for name in group))


@_decodable(_santa_sources)
def load_santa(split="train", size=64, limit=None, cache=None):
    """The Santa / not-Santa images of ``split`` ("train" or "validation") as ``(images, labels)``.

    ``images``: (m, size, size, 3) uint8, ``labels``: (m,) int64, 0 = not_santa, 1 = santa.
    Ordered by class, then file name. With ``limit``, a deterministic subset of at most ``limit``
    images: the first of each class in name order, half each (one more not_santa when odd; when
    a class runs out, the other fills in). ``cache``: a :class:`DataCache` (default: from the
    environment).
    """
    if split not in SANTA_SPLITS:
        raise ValueError(f"split must be one of {SANTA_SPLITS}, not {split!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or a number >= 0, not {limit!r}")
    cache = cache or default_cache()
    groups = _santa_names(split, limit, cache)
    names = [name for group in groups for name in group]
    if not names and limit != 0:
        where = cache.data_dir or cache.pooch.abspath
        raise DataError(f"No santa/{split}/ images are known to the data cache {where}.")
    missing = cache.to_download(names)
    if missing:
        print(f"Downloading {len(missing)} images into {cache.pooch.abspath} (first use only)...")
    labels = np.repeat(np.arange(len(groups), dtype=np.int64), [len(g) for g in groups])
    images = np.empty((len(names), size, size, 3), dtype=np.uint8)
    for i, name in enumerate(names):
        images[i] = read_image(cache.fetch(name), size)
    return images, labels


def read_h5(path, part):
    """``(x, y, classes)`` of the ``part`` ("train" or "test") of a cat-vs-non-cat file."""
    with h5py.File(path, "r") as data:
        return (np.asarray(data[f"{part}_set_x"][:], dtype=np.uint8),
                np.asarray(data[f"{part}_set_y"][:], dtype=np.int64),
                np.asarray(data["list_classes"][:]))


CATVNONCAT_FILES = ("catvnoncat/train_catvnoncat.h5", "catvnoncat/test_catvnoncat.h5")


@_decodable(lambda: _files_of(*CATVNONCAT_FILES))
def load_catvnoncat(cache=None):
    """``(train_x, train_y, test_x, test_y, classes)`` of the cat-vs-non-cat data set.

    Images are (m, 64, 64, 3) uint8, labels (m,) int64 (1 = cat), ``classes`` is
    ``[b'non-cat', b'cat']``. ``cache``: a :class:`DataCache` (default: from the environment).
    """
    cache = cache or default_cache()
    train_x, train_y, _ = read_h5(cache.fetch(CATVNONCAT_FILES[0]), "train")
    test_x, test_y, classes = read_h5(cache.fetch(CATVNONCAT_FILES[1]), "test")
    return train_x, train_y, test_x, test_y, classes


def read_npz(path, keys=("x_train", "y_train", "x_test", "y_test")):
    """``((x_train, y_train), (x_test, y_test))`` from an ``.npz`` in Keras's dataset layout."""
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in keys if key not in data.files]
        if missing:
            raise DataError(f"{path} has no {', '.join(missing)}: expected the layout of Keras's "
                            f"datasets ({', '.join(keys)}).")
        x_train, y_train, x_test, y_test = (data[key] for key in keys)
    return (x_train, y_train), (x_test, y_test)


@_decodable(lambda: _files_of("mnist/mnist.npz"))
def load_mnist(cache=None):
    """MNIST as ``keras.datasets.mnist.load_data()`` returns it.

    ``((x_train, y_train), (x_test, y_test))``: images (m, 28, 28) uint8, labels (m,) uint8. A
    pre-filled cache may hold fewer training images than the public 60,000.
    """
    cache = cache or default_cache()
    return read_npz(cache.fetch("mnist/mnist.npz"))


def read_cifar_archive(path):
    """``((x_train, y_train), (x_test, y_test))`` from the public ``cifar-10-python.tar.gz``.

    The archive holds pickled batches of 10,000 images (rows of 3072 values, channel first);
    they come from a file whose sha256 was checked. Images come back as (m, 32, 32, 3) uint8
    and labels as (m, 1) uint8, the layout of ``keras.datasets.cifar10.load_data()``.
    """
    import pickle
    import tarfile

    parts = {"train": [], "test": []}
    with tarfile.open(path, "r:gz") as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            name = Path(member.name).name
            part = "train" if name.startswith("data_batch_") else "test" if name == "test_batch" else None
            if part is None:
                continue
            batch = pickle.load(archive.extractfile(member), encoding="bytes")
            images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            parts[part].append((images, np.asarray(batch[b"labels"], dtype=np.uint8).reshape(-1, 1)))
    if not parts["train"] or not parts["test"]:
        raise DataError(f"{path} holds no CIFAR-10 batches (data_batch_* and test_batch).")
    return tuple((np.concatenate([x for x, _ in parts[p]]), np.concatenate([y for _, y in parts[p]]))
                 for p in ("train", "test"))


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _cifar10_file(cache):
    if "cifar10/cifar10.npz" in cache.names() and cache.data_dir is not None:
        return "cifar10/cifar10.npz"
    return "cifar10/cifar-10-python.tar.gz"


@_decodable(lambda: _files_of(_cifar10_file(default_cache())))
def load_cifar10(cache=None):
    """CIFAR-10 as ``keras.datasets.cifar10.load_data()`` returns it.

    ``((x_train, y_train), (x_test, y_test))``: images (m, 32, 32, 3) uint8, labels (m, 1) uint8,
    class names in :data:`CIFAR10_CLASSES`. A pre-filled cache may hold ``cifar10/cifar10.npz``,
    a subset in that layout; otherwise the public archive is downloaded and read.
    """
    cache = cache or default_cache()
    name = _cifar10_file(cache)
    if name.endswith(".npz"):
        return read_npz(cache.fetch(name))
    return read_cifar_archive(cache.fetch(name))
