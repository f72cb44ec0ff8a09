"""Premium Exchanger's "API v1" (`POST /api/userapi/v1/<method>`): contract section 4b."""
