using Streaming.Featurizer;
using Streaming.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args);
builder.AddServiceDefaults();
builder.AddFeaturizer();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
