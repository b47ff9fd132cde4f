namespace Streaming.Standalone;

/// <summary>One colour per label, shared by the terminal and HTML reports so they read the same.</summary>
public static class Palette
{
    public static string Hex(string label) => label switch
    {
        "neutral" => "#9e9e9e",
        "happy" => "#f2b705",
        "sad" => "#3d7dd8",
        "angry" => "#d64541",
        "silence" => "#e8e8e8",
        _ => "#8e6cc2",
    };
}
