"""Looking inside models: summaries (layers, shapes, parameter counts)."""

from nerve.analysis.summary import LayerInfo, ModelSummary, summary

__all__ = ["LayerInfo", "ModelSummary", "summary"]
