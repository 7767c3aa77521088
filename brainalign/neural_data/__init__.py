"""Human data: a registry of data sets (URLs, checksums, citations), fetching, and loaders."""
