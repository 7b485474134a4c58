"""The workspace layer: where the parts are wired together from configuration.

``embedded`` is the no-key default server (a local simulator started on first use), installed as
the client layer's default when ``vidu_nb`` is imported.
"""
