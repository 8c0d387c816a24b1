"""A throwaway Asterisk 22 from the cached build, on free ports of 127.0.0.1.

Shared by the real-Asterisk test tier (`tests/real/`) and `dialer bench engine --real`:
where the build is (`build`), free ports (`ports`), the instance's copy of
`asterisk-config/` (`render`), the sound files of its README (`sounds`) and the process
itself (`asterisk`). Shipped code imports these, never `tests/`."""
