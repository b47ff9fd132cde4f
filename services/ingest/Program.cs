using Streaming.Ingest;
using Streaming.Ingest.Sessions;
using Streaming.ServiceDefaults;

// `Streaming.Ingest replay ...` is the replay client (WAV files as live calls); anything else runs the service.
if (args is ["replay", .. var replayArgs]) return await ReplayClient.RunAsync(replayArgs, CancellationToken.None);

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddIngest();
var app = builder.Build();
app.MapDefaultEndpoints();
app.MapIngestEndpoints();
await app.RunAsync();
return 0;
