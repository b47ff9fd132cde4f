using BenchmarkDotNet.Running;

// Every benchmark class in this assembly is selectable, e.g.
//   dotnet run -c Release --project bench -- --filter '*Features*' --job short
// BenchmarkDotNet's default toolchain rebuilds the benchmarks from "<assembly name>.csproj", but the
// assembly is "bench" and the project Streaming.Benchmarks.csproj (both fixed by the solution
// layout), so it cannot find the project: benchmarks always run in-process instead.
// `bench features ...` is the plain command the peer comparison script runs (FeaturesCommand); `bench wire` the
// bytes per call-second on each Kafka topic (WireCommand); `bench soak-plot` the soak's PNG (SoakPlotCommand).
if (args.Length > 0 && args[0] == "features")
    return Streaming.Benchmarks.FeaturesCommand.Run(args[1..]);
if (args.Length > 0 && args[0] == "wire")
    return await Streaming.Benchmarks.WireCommand.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "soak-plot")
    return Streaming.Benchmarks.SoakPlotCommand.Run(args[1..]);

string[] effective = args.Contains("--inProcess") || args.Contains("-i") ? args : [.. args, "--inProcess"];
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(effective);
return 0;
