using System.Text.Json;

namespace Tempo.Workloads;

/// <summary>One LLM call of a recorded agent job: prompt and output token counts.</summary>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Output tokens.</param>
public readonly record struct RecordedCall(int InputTokens, int OutputTokens);

/// <summary>A recorded multi-stage agent job: stages run in order, the calls of a stage in parallel.</summary>
/// <param name="Job">Job number in the source file.</param>
/// <param name="Stages">Calls per stage.</param>
public sealed record RecordedJob(int Job, IReadOnlyList<IReadOnlyList<RecordedCall>> Stages);

/// <summary>
/// The 394 deep-research call graphs of the JITServe artifact (data/deepresearch/jobs.jsonl, Apache-2.0).
/// The first <see cref="TrainingJobs"/> jobs seed the collective-job template library; workloads draw from the
/// rest by default, so templates are never matched against the very jobs they were built from.
/// </summary>
public static class DeepResearchJobs
{
    /// <summary>Jobs reserved for the template library (the "training" split).</summary>
    public const int TrainingJobs = 200;

    private static readonly Lazy<IReadOnlyList<RecordedJob>> Embedded = new(() =>
    {
        using var stream = typeof(DeepResearchJobs).Assembly.GetManifestResourceStream("Tempo.Data.deepresearch.jobs.jsonl")
            ?? throw new InvalidOperationException("embedded deep-research jobs are missing from the build");
        using var reader = new StreamReader(stream);
        return Parse(reader, "embedded jobs.jsonl");
    });

    /// <summary>All 394 embedded jobs, in file order.</summary>
    public static IReadOnlyList<RecordedJob> All => Embedded.Value;

    /// <summary>The training split (template seeds).</summary>
    public static IReadOnlyList<RecordedJob> Training => [.. All.Take(TrainingJobs)];

    /// <summary>The test split (workload jobs).</summary>
    public static IReadOnlyList<RecordedJob> Test => [.. All.Skip(TrainingJobs)];

    /// <summary>Parses the JSONL format <c>{"job":1,"stages":[[[in,out],...],...]}</c>; throws <see cref="FormatException"/> naming the line.</summary>
    public static IReadOnlyList<RecordedJob> Parse(TextReader reader, string sourceName)
    {
        var jobs = new List<RecordedJob>();
        var lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                var stages = root.GetProperty("stages").EnumerateArray()
                    .Select(stage => (IReadOnlyList<RecordedCall>)[.. stage.EnumerateArray().Select(c => new RecordedCall(c[0].GetInt32(), c[1].GetInt32()))])
                    .ToList();
                if (stages.Count == 0 || stages.Any(s => s.Count == 0 || s.Any(c => c.InputTokens <= 0 || c.OutputTokens <= 0)))
                {
                    throw new FormatException("every stage needs at least one call with positive token counts");
                }

                jobs.Add(new RecordedJob(root.GetProperty("job").GetInt32(), stages));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException)
            {
                throw new FormatException($"{sourceName} line {lineNo}: {e.Message}", e);
            }
        }

        return jobs;
    }
}
