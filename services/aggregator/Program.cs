using Streaming.Aggregator;
using Streaming.Dashboard;
using Streaming.ServiceDefaults;
using Streaming.Timelines.Api;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args);
builder.AddServiceDefaults();
builder.AddAggregator();
var app = builder.Build();
app.MapDefaultEndpoints();
app.MapTimelineApi();
app.MapDashboard();
await app.RunAsync();
