using System.CommandLine;
using Streaming.Standalone;
using Streaming.Standalone.Serve;

var root = new RootCommand("Speech-emotion timelines per speaker, from recorded or live calls, in one process.");
root.Subcommands.Add(AnalyzeCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(EraseCommand.Create());
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One line per problem and the "nothing could run" code, instead of the parser's multi-line help dump (exit 1).
    foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message.ReplaceLineEndings(" ")} (see --help)");
    return AnalyzeCommand.Fatal;
}
return await parse.InvokeAsync();
