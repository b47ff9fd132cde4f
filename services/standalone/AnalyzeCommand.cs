using System.CommandLine;
using Spectre.Console;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Pipeline;

namespace Streaming.Standalone;

/// <summary>`analyze`: recorded calls through the embedded pipeline, timelines to the terminal, JSON and HTML.</summary>
public static class AnalyzeCommand
{
    /// <summary>Exit codes: 0 every file analyzed, 1 some file could not be, 2 nothing could run (model, options).</summary>
    public const int Ok = 0, FileFailed = 1, Fatal = 2;

    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, "models", "emotion-cnn-bilstm.onnx");

    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("files") { Arity = ArgumentArity.OneOrMore, Description = "WAV files, one call each (stereo: one speaker per channel)" };
        var json = new Option<FileInfo?>("--json") { Description = "Write the timelines as JSON (schema: docs/json-schema.md)" };
        var html = new Option<FileInfo?>("--html") { Description = "Write a self-contained HTML report with the timelines plotted" };
        var model = new Option<FileInfo>("--model") { Description = "ONNX emotion model", DefaultValueFactory = _ => new FileInfo(DefaultModelPath) };
        var customerOnly = new Option<bool>("--customer-only") { Description = "Drop agent audio before any processing (EU AI Act Art. 5(1)(f))" };
        var customerChannel = new Option<int>("--customer-channel") { Description = "Channel carrying the customer", DefaultValueFactory = _ => 0 };
        var agentChannel = new Option<int?>("--agent-channel") { Description = "Channel carrying the agent (default 1 for stereo; none for mono)" };
        var realTime = new Option<bool>("--realtime") { Description = "Replay each file at real-time speed, as a live call" };
        var voting = new Option<VotingMode>("--voting") { Description = "How recent windows combine into the reported label", DefaultValueFactory = _ => VotingMode.Majority };
        var votingWindows = new Option<int>("--vote-windows") { Description = "How many recent speech windows vote", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads", DefaultValueFactory = _ => 1 };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No timeline or progress in the terminal" };

        var command = new Command("analyze", "Per-speaker emotion timelines of recorded calls")
        {
            files, json, html, model, customerOnly, customerChannel, agentChannel, realTime, voting, votingWindows, threads, quiet,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(new Settings(
            parse.GetValue(files)!, parse.GetValue(json), parse.GetValue(html), parse.GetValue(model)!, parse.GetValue(customerOnly),
            parse.GetValue(customerChannel), parse.GetValue(agentChannel), parse.GetValue(realTime),
            new ClassifierOptions { Voting = parse.GetValue(voting), VotingWindows = parse.GetValue(votingWindows) },
            parse.GetValue(threads), parse.GetValue(quiet)), cancellationToken));
        return command;
    }

    private sealed record Settings(FileInfo[] Files, FileInfo? Json, FileInfo? Html, FileInfo Model, bool CustomerOnly,
        int CustomerChannel, int? AgentChannel, bool RealTime, ClassifierOptions Classifier, int Threads, bool Quiet);

    private static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        var errors = Console.Error;
        EmotionModel emotionModel;
        try
        {
            settings.Classifier.Validate();
            if (settings.Threads < 1) throw new ArgumentException("--threads must be at least 1");
            if (settings.CustomerChannel < 0 || settings.AgentChannel < 0) throw new ArgumentException("channel numbers start at 0");
            if (settings.CustomerChannel == settings.AgentChannel)
                throw new ArgumentException($"--customer-channel and --agent-channel are both {settings.CustomerChannel}");
            CheckWritable("--json", settings.Json);
            CheckWritable("--html", settings.Html);
            emotionModel = EmotionModel.Load(new EmotionModelOptions { Path = settings.Model.FullName, IntraOpThreads = settings.Threads },
                FeatureConfig.Telephone8k, settings.Quiet ? null : line => errors.WriteLine(line));
        }
        catch (Exception e) when (e is ArgumentException or ModelContractException or FileNotFoundException or InvalidDataException)
        {
            errors.WriteLine($"error: {e.Message}");
            return Fatal;
        }

        using (emotionModel)
        {
            var calls = CallIds(settings.Files).Select(f => new CallFile(f.File.FullName, f.CallId, new ChannelRoles(settings.CustomerChannel, settings.AgentChannel))).ToList();
            var analyzer = new CallAnalyzer(emotionModel, settings.Classifier);
            var results = await AnalyzeWithProgressAsync(analyzer, calls, settings, console, cancellationToken);

            var reports = results.Where(r => r.Timeline is not null).Select(CallReport.From).ToList();
            foreach (var failed in results.Where(r => r.Error is not null)) errors.WriteLine($"error: {failed.Error}");
            if (!settings.Quiet)
            {
                foreach (var report in reports) TerminalReport.Write(console, report, emotionModel.Contract.Labels);
            }
            var outputFailed = false;
            if (reports.Count > 0)
            {
                if (settings.Json is { } json)
                    outputFailed |= !TryWrite("JSON", json, () => CallReport.Write(json.FullName, reports), settings.Quiet, console, errors);
                if (settings.Html is { } html)
                    outputFailed |= !TryWrite("HTML", html, () => HtmlReport.Write(html.FullName, reports, emotionModel.Contract.Labels), settings.Quiet, console, errors);
            }
            return outputFailed || results.Any(r => r.Error is not null) ? FileFailed : Ok;
        }
    }

    /// <summary>Checked before any audio is read, so a typo in an output path does not cost a whole analysis.</summary>
    private static void CheckWritable(string option, FileInfo? file)
    {
        if (file is null) return;
        if (Directory.Exists(file.FullName)) throw new ArgumentException($"{option} {file.FullName}: is a directory");
        if (file.Directory is { Exists: false } directory) throw new ArgumentException($"{option} {file.FullName}: directory {directory.FullName} does not exist");
    }

    /// <summary>Writes one output file; a failure (permissions, full disk) is one line, the other outputs still go out.</summary>
    private static bool TryWrite(string kind, FileInfo file, Action write, bool quiet, IAnsiConsole console, TextWriter errors)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.WriteLine($"error: cannot write {file.FullName}: {e.Message}");
            return false;
        }
        if (!quiet) console.MarkupLine($"{kind}: [link]{Markup.Escape(file.FullName)}[/]");
        return true;
    }

    /// <summary>Progress bars on an interactive terminal; nothing extra in logs and pipes.</summary>
    private static async Task<IReadOnlyList<CallResult>> AnalyzeWithProgressAsync(CallAnalyzer analyzer, List<CallFile> calls,
        Settings settings, IAnsiConsole console, CancellationToken cancellationToken)
    {
        if (settings.Quiet || !console.Profile.Capabilities.Interactive)
            return await analyzer.AnalyzeAsync(calls, settings.CustomerOnly, settings.RealTime, null, cancellationToken);

        IReadOnlyList<CallResult> results = [];
        await console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = calls.ToDictionary(c => c, c => context.AddTask(Markup.Escape(c.CallId), maxValue: 1.0));
                var progress = new Progress<(CallFile File, double Fraction)>(p => tasks[p.File].Value = p.Fraction);
                results = await analyzer.AnalyzeAsync(calls, settings.CustomerOnly, settings.RealTime, progress, cancellationToken);
                foreach (var task in tasks.Values) task.Value = 1.0;
            });
        return results;
    }

    /// <summary>
    /// Call ids from file names, made unique when two files share a name. Unique against every id handed out,
    /// not only the same name's: a.wav, b/a.wav and a-2.wav must not share "a-2" (the store would merge them).
    /// </summary>
    private static IEnumerable<(FileInfo File, string CallId)> CallIds(FileInfo[] files)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var name = Path.GetFileNameWithoutExtension(file.Name);
            var id = name;
            for (var n = 2; !taken.Add(id); n++) id = $"{name}-{n}";
            yield return (file, id);
        }
    }
}
