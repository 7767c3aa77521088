"""Image pools the probe builder draws base images and distractors from.

A pool is a list of captioned items. Each item can be shown as a *base image* (square RGB, the
probe's Baseline stimulus) and as a *cut-out* (RGBA, pasted as a distractor into another item's
base image; photos are fully opaque). Pools here:

- :class:`CocoPool`: COCO / NSD images with COCO's caption JSON, optionally cropped by NSD's
  ``cropBox`` (the study's setting);
- :class:`FolderPool`: any folder of images plus a captions table (CSV: ``image, caption``);
- :func:`bundled_photos_pool`: the handful of photos shipped inside scikit-image, scikit-learn
  and matplotlib (the last fallback; far too few for a real probe).

The labelled cut-outs composited on backgrounds (Tux Paint stamps, the default) live in
:mod:`.tuxpaint`.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from ..errors import BrainAlignError
from ..stimuli import IMAGE_SUFFIXES, StimulusSet, natural_key
from .exact import resize_rgba

log = logging.getLogger(__name__)

COCO_BIBTEX = """@inproceedings{lin2014coco,
  title = {Microsoft {COCO}: Common Objects in Context},
  author = {Lin, Tsung-Yi and Maire, Michael and Belongie, Serge and Hays, James and Perona, Pietro and Ramanan, Deva and Doll{\\'a}r, Piotr and Zitnick, C. Lawrence},
  booktitle = {European Conference on Computer Vision (ECCV)},
  pages = {740--755},
  year = {2014},
  doi = {10.1007/978-3-319-10602-1_48}
}
@article{allen2022nsd,
  title = {A massive {7T} {fMRI} dataset to bridge cognitive neuroscience and artificial intelligence},
  author = {Allen, Emily J. and St-Yves, Ghislain and Wu, Yihan and Breedlove, Jesse L. and Prince, Jacob S. and Dowdle, Logan T. and Nau, Matthias and Caron, Brad and Pestilli, Franco and Charest, Ian and Hutchinson, J. Benjamin and Naselaris, Thomas and Kay, Kendrick},
  journal = {Nature Neuroscience},
  volume = {25},
  pages = {116--126},
  year = {2022},
  doi = {10.1038/s41593-021-00962-x}
}"""


@dataclass(frozen=True)
class PoolItem:
    """One captioned image of a pool; ``id`` is unique within the pool and safe as a file name."""

    id: str
    captions: tuple[str, ...]
    source: str


def item_rng(seed: int, item_id: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the item, not on processing order."""
    return np.random.default_rng([int(seed), zlib.crc32(item_id.encode("utf-8"))])


class ImagePool(ABC):
    """Captioned items that can be rendered as base images and as distractor cut-outs."""

    kind: str = "pool"
    bibtex: str = ""

    def __init__(self, items: Sequence[PoolItem]) -> None:
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            repeated = next(i for i in ids if ids.count(i) > 1)
            sources = [item.source for item in items if item.id == repeated]
            raise BrainAlignError(
                f"{self.kind} pool: {' and '.join(sources)} would both be image {repeated!r} (an image's id "
                "is its file name without the suffix); keep one of them, or rename the other"
            )
        self.items: tuple[PoolItem, ...] = tuple(items)
        self._by_id = {item.id: item for item in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def item(self, item_id: str) -> PoolItem:
        return self._by_id[item_id]

    @abstractmethod
    def base_image(self, item_id: str, size: int, seed: int) -> np.ndarray:
        """The item as a square RGB uint8 base image ``(size, size, 3)``; ``seed`` fixes any
        random choice (e.g. a generated background)."""

    @abstractmethod
    def cutout(self, item_id: str) -> np.ndarray:
        """The item as an RGBA uint8 distractor (alpha 255 where it is opaque)."""

    def describe(self) -> dict[str, Any]:
        """What a manifest records about the pool."""
        return {"kind": self.kind, "n_items": len(self)}


def square(image: Image.Image, size: int) -> np.ndarray:
    """The centre square of the image (whole pixels), resized to ``size`` (Lanczos,
    :func:`.exact.resize_rgba`: the same pixels with any Pillow once the file is decoded)."""
    rgba = opaque(image)
    height, width = rgba.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return resize_rgba(rgba[top : top + side, left : left + side], size, size)[..., :3]


def opaque(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


class PhotoPool(ImagePool):
    """Items that are photo files: base image = square centre crop, cut-out = the whole photo."""

    def __init__(self, items: Sequence[PoolItem], paths: dict[str, Path]) -> None:
        super().__init__(items)
        self._photos = StimulusSet.from_paths(
            [paths[item.id] for item in items], [item.id for item in items], name=self.kind
        )

    def photo(self, item_id: str) -> Image.Image:
        return self._photos.load(item_id)

    def base_image(self, item_id: str, size: int, seed: int) -> np.ndarray:
        return square(self.photo(item_id), size)

    def cutout(self, item_id: str) -> np.ndarray:
        return opaque(self.photo(item_id))


def _file_id(name: str) -> str:
    stem = Path(name).stem
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)


class FolderPool(PhotoPool):
    """A folder of images and a captions table: CSV with columns ``image`` (file name, relative
    to the folder) and ``caption``; an image may have several rows, one per caption."""

    kind = "folder"

    def __init__(
        self, folder: str | os.PathLike[str], captions_csv: str | os.PathLike[str]
    ) -> None:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise BrainAlignError(f"image folder {root} does not exist; pass --images DIR")
        table = _read_captions_csv(Path(captions_csv).expanduser())
        items, paths, missing = [], {}, []
        for image, group in table.groupby("image", sort=False):
            path = root / str(image)
            if not path.is_file():
                missing.append(str(image))
                continue
            item_id = _file_id(str(image))
            captions = tuple(str(c).strip() for c in group["caption"] if str(c).strip())
            items.append(PoolItem(item_id, captions, str(path)))
            paths[item_id] = path
        if missing:
            raise BrainAlignError(
                f"{len(missing)} images named in {captions_csv} are not in {root} "
                f"(e.g. {missing[:3]}); fix the image column or the folder"
            )
        items.sort(key=lambda item: natural_key(item.id))
        self.root = root
        self.captions_path = Path(captions_csv)
        super().__init__(items, paths)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "folder": str(self.root), "captions": str(self.captions_path)}


def _read_captions_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise BrainAlignError(f"captions table {path} does not exist; pass --captions FILE.csv")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise BrainAlignError(f"captions table {path} is not a readable CSV ({err})") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    if not {"image", "caption"} <= set(table.columns):
        raise BrainAlignError(
            f"captions table {path} needs columns 'image' and 'caption' (one row per caption); "
            f"it has {list(table.columns)}"
        )
    if table.empty:
        raise BrainAlignError(f"captions table {path} has no rows")
    return table


class CocoPool(PhotoPool):
    """COCO images with COCO's caption annotations; with NSD's ``nsd_stim_info_merged.csv`` only
    the NSD images are used, each cropped by its ``cropBox`` as NSD showed it.

    ``cropBox`` is ``(top, bottom, left, right)``: the fraction of the image cut from each side.
    """

    kind = "coco"
    bibtex = COCO_BIBTEX

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        caption_files: Sequence[str | os.PathLike[str]],
        nsd_stim_info: str | os.PathLike[str] | None = None,
    ) -> None:
        root = Path(images_dir).expanduser()
        if not root.is_dir():
            raise BrainAlignError(f"COCO image folder {root} does not exist; pass --images DIR")
        if not caption_files:
            raise BrainAlignError(
                "COCO pool needs caption files (captions_train2017.json …): --captions"
            )
        files = {p.name: p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES}
        captions: dict[int, list[str]] = {}
        names: dict[int, str] = {}
        for caption_file in caption_files:
            data = _read_coco_json(Path(caption_file).expanduser())
            for image in data["images"]:
                names[int(image["id"])] = str(image["file_name"])
            for note in data["annotations"]:
                captions.setdefault(int(note["image_id"]), []).append(str(note["caption"]).strip())
        crops: dict[int, tuple[float, float, float, float]] = {}
        if nsd_stim_info is not None:
            crops = _read_nsd_crops(Path(nsd_stim_info).expanduser())
            wanted = sorted(crops)
        else:
            wanted = sorted(names)
        items, paths, self._crops = [], {}, {}
        for coco_id in wanted:
            name = names.get(coco_id)
            if name is None or name not in files or not captions.get(coco_id):
                continue
            item_id = f"coco{coco_id}"
            items.append(PoolItem(item_id, tuple(captions[coco_id]), str(files[name])))
            paths[item_id] = files[name]
            if coco_id in crops:
                self._crops[item_id] = crops[coco_id]
        if not items:
            raise BrainAlignError(
                f"no image in {root} has a caption in the given COCO caption files"
                + (" and a row in the NSD stimulus table" if nsd_stim_info else "")
                + "; check that --images and --captions belong together"
            )
        self.root = root
        self.nsd = nsd_stim_info is not None
        super().__init__(items, paths)

    def photo(self, item_id: str) -> Image.Image:
        image = super().photo(item_id)
        crop = self._crops.get(item_id)
        if crop is None:
            return image
        top, bottom, left, right = crop
        width, height = image.size
        box = (
            round(left * width),
            round(top * height),
            round(width - right * width),
            round(height - bottom * height),
        )
        return image.crop(box)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "images": str(self.root), "nsd_crop": self.nsd}


def _read_coco_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrainAlignError(f"COCO caption file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BrainAlignError(f"COCO caption file {path} is not valid JSON ({err})") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise BrainAlignError(
            f"{path} is not a COCO caption file (needs 'images' and 'annotations'); "
            "use annotations/captions_train2017.json or captions_val2017.json"
        )
    return data


def _read_nsd_crops(path: Path) -> dict[int, tuple[float, float, float, float]]:
    if not path.is_file():
        raise BrainAlignError(f"NSD stimulus table {path} does not exist")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise BrainAlignError(f"NSD stimulus table {path} is not a readable CSV ({err})") from None
    if not {"cocoId", "cropBox"} <= set(table.columns):
        raise BrainAlignError(
            f"{path} is not NSD's nsd_stim_info_merged.csv (needs columns cocoId and cropBox)"
        )
    crops = {}
    for coco_id, box in zip(table["cocoId"], table["cropBox"]):
        try:
            values = tuple(float(v) for v in ast.literal_eval(str(box)))
        except (ValueError, TypeError, SyntaxError):
            values = ()
        if len(values) != 4:
            raise BrainAlignError(
                f"{path}: cropBox {box!r} of COCO image {coco_id} is not 4 numbers"
            )
        crops[int(coco_id)] = values
    return crops


#: The photos bundled with scikit-image, scikit-learn and matplotlib, with hand-written captions.
_BUNDLED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "skimage",
        "astronaut.png",
        (
            "An astronaut in a white space suit posing in front of a flag.",
            "Portrait of a smiling astronaut.",
        ),
    ),
    ("skimage", "chelsea.png", ("A tabby cat looking to the side.", "Close-up of a cat's face.")),
    ("skimage", "coffee.png", ("A cup of coffee on a saucer.", "A coffee cup seen from above.")),
    ("skimage", "rocket.jpg", ("A rocket on a launch pad.", "A space rocket before launch.")),
    (
        "skimage",
        "hubble_deep_field.jpg",
        ("Many distant galaxies in a telescope image of deep space.",),
    ),
    ("skimage", "retina.jpg", ("A medical photograph of the retina of a human eye.",)),
    ("skimage", "motorcycle_left.png", ("A motorcycle standing in a room.",)),
    ("skimage", "camera.png", ("A black and white photo of a man with a camera on a tripod.",)),
    ("skimage", "coins.png", ("Old coins lying on a dark surface.",)),
    ("skimage", "moon.png", ("The cratered surface of the moon.",)),
    ("skimage", "grass.png", ("A patch of grass.",)),
    ("skimage", "gravel.png", ("Gravel stones on the ground.",)),
    ("skimage", "brick.png", ("A brick wall.",)),
    ("skimage", "ihc.png", ("A microscope image of stained tissue.",)),
    ("sklearn", "china.jpg", ("A Chinese temple with a curved roof among trees.",)),
    ("sklearn", "flower.jpg", ("A close-up of a pink flower.",)),
    ("matplotlib", "grace_hopper.jpg", ("A portrait of Grace Hopper in a navy uniform.",)),
)


def _bundled_folder(package: str) -> Path | None:
    try:
        if package == "skimage":
            import skimage.data

            return Path(skimage.data.__file__).parent
        if package == "sklearn":
            import sklearn.datasets

            return Path(sklearn.datasets.__file__).parent / "images"
        if package == "matplotlib":
            import matplotlib

            return Path(matplotlib.get_data_path()) / "sample_data"
    except ImportError:
        return None
    return None


class BundledPhotosPool(PhotoPool):
    kind = "bundled"


def bundled_photos_pool() -> BundledPhotosPool:
    """The few photos shipped inside scikit-image / scikit-learn / matplotlib (last fallback)."""
    items, paths = [], {}
    for package, name, captions in _BUNDLED:
        folder = _bundled_folder(package)
        if folder is not None and (folder / name).is_file():
            item_id = f"{package}-{Path(name).stem}"
            items.append(PoolItem(item_id, captions, f"{package}:{name}"))
            paths[item_id] = folder / name
    if len(items) < 5:
        raise BrainAlignError(
            "the bundled photos of scikit-image / scikit-learn / matplotlib were not found; "
            "install those packages or build the probe from Tux Paint stamps or your own images"
        )
    log.warning(
        "using the %d photos bundled with scikit-image, scikit-learn and matplotlib: far too few "
        "for a reliable probe (at most %d base images); get the Tux Paint stamps "
        "(`brainalign probe build`, needs apt-get) or use your own images (--pool folder)",
        len(items),
        len(items),
    )
    return BundledPhotosPool(items, paths)
