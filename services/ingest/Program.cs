using Streaming.Ingest;
using Streaming.Ingest.Sessions;
using Streaming.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args);
builder.AddServiceDefaults();
builder.AddIngest();
var app = builder.Build();
app.MapDefaultEndpoints();
app.MapIngestEndpoints();
await app.RunAsync();
