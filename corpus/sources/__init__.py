"""Image-source clients: they know HTTP and their API's shape, nothing of the store."""
