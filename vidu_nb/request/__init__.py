"""The request layer: what a generation asks for, checked before anything is sent.

``models`` is the capability table (limits, rates), ``spec`` the ``Img2VideoRequest`` and its
JSON body, ``images`` reads, checks and fits the start frame, ``json_text`` the JSON text
fields, ``sweep`` grids of requests. Nothing here knows HTTP, the task log or widgets.
"""
