namespace Streaming.Audio;

/// <summary>
/// Audio input that cannot be read: the message is one line, "&lt;name&gt;: &lt;problem&gt;", fit to show
/// a user as is (no stack trace needed for this expected failure).
/// </summary>
public sealed class AudioFormatException : Exception
{
    public AudioFormatException(string name, string problem)
        : base($"{name}: {problem}")
    {
        Name = name;
        Problem = problem;
    }

    public AudioFormatException(string name, string problem, Exception inner)
        : base($"{name}: {problem}", inner)
    {
        Name = name;
        Problem = problem;
    }

    /// <summary>The file or stream name the problem was found in.</summary>
    public string Name { get; }

    /// <summary>The problem alone, without the name.</summary>
    public string Problem { get; }
}
