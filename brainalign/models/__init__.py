"""Vision models: cards (data), factories (code), layer policies and layer-RDM extraction."""
