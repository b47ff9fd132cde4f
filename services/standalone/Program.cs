using System.CommandLine;
using Streaming.Standalone;

var root = new RootCommand("Speech-emotion timelines per speaker, from recorded or live calls, in one process.");
root.Subcommands.Add(AnalyzeCommand.Create());
return await root.Parse(args).InvokeAsync();
