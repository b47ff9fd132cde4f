using Streaming.Training;

try
{
    // errors a user can fix are one line, not a stack trace
    return Cli.Build().Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or Streaming.Contracts.ModelContractException)
{
    Console.Error.WriteLine($"train: {e.Message}");
    return 2;
}
