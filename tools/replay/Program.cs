using Streaming.Replay;

// Ctrl+C stops the replay: the calls in flight end as dropped connections (the server finishes their streams).
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
return await ReplayClient.RunAsync(args, cancel.Token);
