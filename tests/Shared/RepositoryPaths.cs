namespace Streaming.Tests.Shared;

/// <summary>Where tests find the repository and the team's labelled data beside it. Linked into the test projects that use it.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The emotion corpora's manifest in ../shared/data/emotion, beside the repository locally and in CI (never copied into it).</summary>
    public static string EmotionManifest => Path.GetFullPath(Path.Combine(Root, "..", "shared", "data", "emotion", "manifest.csv"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no Streaming.sln above '{AppContext.BaseDirectory}'");
    }
}
