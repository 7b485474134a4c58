"""The tracking layer: what is known of every task, kept on disk and kept up to date.

``tasklog`` is the durable SQLite record (read as a DataFrame), ``poller`` the background worker
that submits, follows and downloads, ``cache`` the video files next to the log, ``stills`` the
strips of frames cached beside them, ``ledger`` the credit arithmetic. It asks the client layer only for its protocols and builds nothing above it.
"""
