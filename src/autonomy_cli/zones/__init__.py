"""Day-two services on zones: deploy (:mod:`.deploy`), status (:mod:`.status`), inlets
(:mod:`.inlet`) and the dev loop (:mod:`.devloop`). They reach Docker only through an
:class:`~.engine.Engine` (autonomy_cli.docker.engine.DockerEngine in real use)."""
