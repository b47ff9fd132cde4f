using Streaming.Featurizer;
using Streaming.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddFeaturizer();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
