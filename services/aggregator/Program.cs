using Streaming.Aggregator;
using Streaming.ServiceDefaults;
using Streaming.Timelines.Api;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAggregator();
var app = builder.Build();
app.MapDefaultEndpoints();
app.MapTimelineApi();
await app.RunAsync();
