"""CPIX 2.3 documents: namespaces, the request model, parsing with validation, and rendering."""
