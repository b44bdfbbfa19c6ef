"""Detector backends behind one interface (see docs/annotate.md).

* :mod:`annotators.base`: the :class:`~annotators.base.Annotator` protocol, the one
  :class:`~annotators.base.Instance` type (label, score, xyxy box, bool mask or COCO RLE), and
  :func:`~annotators.base.instances_from_arrays`, the conversion the torch backends share;
* :mod:`corpus.masks` (used by every backend): RLE / polygon conversions (pycocotools);
* backends: :mod:`~annotators.onnx_yolo` (YOLOv5/v7 and v8/11-seg ONNX), :mod:`~annotators.onnx_yolact`,
  :mod:`~annotators.ultralytics`, :mod:`~annotators.torchvision`, :mod:`~annotators.detectron2`
  (each imports its heavy library only when used);
* :func:`annotators.registry.load_annotator`: pick and load a backend from a ``--model`` string;
* :mod:`annotators.mapping`: detector label -> WordNet synset (``data/label_synsets.yaml``) ->
  ontology class.

Annotators know images and models, nothing of the store (``corpus.annotate`` writes proposals).
"""
