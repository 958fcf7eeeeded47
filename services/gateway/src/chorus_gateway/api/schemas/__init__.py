"""REST request/response models and their explicit proto mappings, one module per resource."""
