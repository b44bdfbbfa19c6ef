"""COCO in and out: the training export, the COCO Annotator round trip, and proposal evaluation.

Modules: ``masks`` (polygon/RLE conversions), ``categories`` (ontology classes as COCO categories),
``splits`` (deterministic train/val/test), ``writer`` (streaming JSON), ``export`` (training COCO),
``coco_annotator`` (review export), ``validate`` (strict input checks), ``import_`` (review import),
``evaluate`` (COCOeval of proposals against reviewed truth).
"""
