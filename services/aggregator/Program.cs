using Streaming.Aggregator;
using Streaming.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAggregator();
var app = builder.Build();
app.MapDefaultEndpoints();
app.MapTimelineApi();
await app.RunAsync();
