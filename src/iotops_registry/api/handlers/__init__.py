"""The ARM API's handlers, one module per resource family. Each is ``async (ctx, call) ->
Response`` and is named by a row of ``api.routes``; none routes or checks names itself."""
