namespace Tempo.Scheduling.Collective;

/// <summary>Application names of collective jobs and their known structures (docs/WORKLOADS.md, "The reference mix"; docs/TEMPO.md §1.4).</summary>
internal static class CollectiveApp
{
    /// <summary>Normalised name of tree-of-thought jobs.</summary>
    public const string TreeOfThought = "tot";

    /// <summary>Normalised name of deep-research jobs.</summary>
    public const string DeepResearch = "deepresearch";

    /// <summary>Normalised name when a job declares no application.</summary>
    public const string Unknown = "";

    /// <summary>The tree-of-thought pattern: generate ×3, value ×1, generate ×3, value ×1.</summary>
    public static IReadOnlyList<int> TreeOfThoughtPattern { get; } = [3, 1, 3, 1];

    /// <summary>
    /// Lower-cases and strips separators so "Deep-Research", "deep_research" and "deepresearch" agree; any
    /// "tree-of-thought(s)" spelling becomes <see cref="TreeOfThought"/>.
    /// </summary>
    public static string Normalise(string? app)
    {
        if (string.IsNullOrWhiteSpace(app))
        {
            return Unknown;
        }

        Span<char> buffer = stackalloc char[Math.Min(app.Length, 64)];
        var n = 0;
        foreach (var c in app)
        {
            if (char.IsLetterOrDigit(c) && n < buffer.Length)
            {
                buffer[n++] = char.ToLowerInvariant(c);
            }
        }

        var name = new string(buffer[..n]);
        return name.StartsWith("treeofthought", StringComparison.Ordinal) ? TreeOfThought : name;
    }

    /// <summary>Calls expected in each stage when the application fixes them (ToT with 4 stages); null when unknown.</summary>
    public static int[]? ExpectedCalls(string normalisedApp, int stageCount) =>
        normalisedApp == TreeOfThought && stageCount == TreeOfThoughtPattern.Count ? [.. TreeOfThoughtPattern] : null;
}
