"""Playback lab: real packagers and real players against the provider (``make demo`` and the browser tier).

* ``speke``: ask a running provider for keys over SPEKE v2 (SigV4), read the keys and the signalling.
* ``media``: a generated clip (ffmpeg), HLS TS AES-128 (ffmpeg) and ClearKey DASH (Shaka Packager).
* ``web``: a loopback static server for the player pages, the players and the media.
* ``toolchain``: where the external tools are, and what is missing.
* ``demo``: ``make demo``.

Workstation code only; it builds on ``client/`` (the encryptor side) and never on the server package.
"""
