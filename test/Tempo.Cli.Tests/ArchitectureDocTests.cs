using System.Text.RegularExpressions;

namespace Tempo.Cli.Tests;

/// <summary>The dependency graph in docs/ARCHITECTURE.md must say exactly what the project files reference.</summary>
public sealed partial class ArchitectureDocTests
{
    [Fact]
    public void DependencyGraph_MatchesProjectReferences()
    {
        var root = RepositoryRoot();
        var documented = DocumentedGraph(File.ReadAllText(Path.Combine(root, "docs", "ARCHITECTURE.md")));
        var actual = Directory.GetDirectories(Path.Combine(root, "src"))
            .Select(d => Path.Combine(d, Path.GetFileName(d) + ".csproj"))
            .Where(File.Exists)
            .ToDictionary(
                p => Path.GetFileNameWithoutExtension(p),
                p => ProjectReference().Matches(File.ReadAllText(p)).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList());

        Assert.Equal(actual.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        foreach (var (project, references) in actual)
        {
            Assert.True(references.SequenceEqual(documented[project]), $"{project}: the project references [{string.Join(", ", references)}], the doc says [{string.Join(", ", documented[project])}]");
        }
    }

    private static Dictionary<string, List<string>> DocumentedGraph(string doc)
    {
        var section = doc[doc.IndexOf("## Projects and dependencies", StringComparison.Ordinal)..];
        var block = section.Split("```")[1];
        var graph = new Dictionary<string, List<string>>();
        foreach (var line in block.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("Tempo.", StringComparison.Ordinal)))
        {
            var name = line.Split(' ')[0];
            var arrow = line.IndexOf('→');
            var targets = arrow < 0
                ? []
                : line[(arrow + 1)..].Split('(')[0].Split(',').Select(t => "Tempo." + t.Trim()).Order(StringComparer.Ordinal).ToList();
            graph[name] = targets;
        }

        return graph;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Tempo.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Tempo.slnx not found above the test binaries");
    }

    [GeneratedRegex("""ProjectReference Include="\.\./(Tempo\.[A-Za-z]+)/""")]
    private static partial Regex ProjectReference();
}
