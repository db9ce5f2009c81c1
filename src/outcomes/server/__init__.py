"""The HTTP faces of ``outcomes`` (the ``[server]`` extra): the service and its dashboard."""
