"""Looking inside models: summaries (layers, shapes, parameter counts) and attention maps."""

from nerve.analysis.attention import attention_maps
from nerve.analysis.summary import LayerInfo, ModelSummary, summary

__all__ = ["LayerInfo", "ModelSummary", "attention_maps", "summary"]
