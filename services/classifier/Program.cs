using Streaming.Classifier;
using Streaming.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args);
builder.AddServiceDefaults();
builder.AddClassifier();
var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
