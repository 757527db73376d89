using Tempo.Core;
using Tempo.Scheduling.Prediction;

namespace Tempo.Scheduling.Tests.Prediction;

/// <summary>
/// Synthetic (prompt, length) pairs where the response length depends on cue words in the prompt and on its
/// length, with log-normal noise, so a predictor that reads the text should beat one that cannot.
/// </summary>
internal static class SyntheticLengths
{
    private static readonly string[] Filler =
    [
        "the", "a", "of", "and", "to", "in", "about", "data", "model", "system", "user", "please", "what", "how", "why",
        "city", "river", "market", "code", "python", "history", "music", "garden", "energy", "travel", "science",
        "team", "project", "weather", "recipe", "budget", "school", "health", "game", "story", "planet", "language",
    ];

    /// <summary>Median length by cue: "briefly" is short, "essay" is long, no cue is medium.</summary>
    public static (string? Cue, double Median)[] Cues { get; } = [("briefly", 20), ("essay", 700), ("list", 150), (null, 90)];

    public static List<RequestSpec> Generate(int count, int seed, bool withText = true)
    {
        var rng = new Random(seed);
        var specs = new List<RequestSpec>(count);
        for (var i = 0; i < count; i++)
        {
            var words = rng.Next(4, 80);
            var (cue, median) = Cues[rng.Next(Cues.Length)];
            var text = new List<string>(words + 1);
            for (var w = 0; w < words; w++)
            {
                text.Add(Filler[rng.Next(Filler.Length)]);
            }

            if (cue is not null)
            {
                text.Insert(rng.Next(text.Count + 1), rng.Next(2) == 0 ? cue : cue.ToUpperInvariant());
            }

            var promptTokens = (int)(text.Count * 1.3) + rng.Next(0, 20) + 1;

            // Longer prompts get somewhat longer answers; noise is log-normal (σ = 0.35).
            var noise = Math.Exp(0.35 * Normal(rng));
            var length = median * Math.Pow(promptTokens / 40.0, 0.3) * noise;
            var cls = rng.Next(2) == 0 ? RequestClass.Latency : RequestClass.Throughput;
            var output = Math.Clamp((int)Math.Round(length), 1, 4000);
            specs.Add(Specs.Make(i, promptTokens, output, cls, i * 0.1, new Slo(1, 0.1, 30), text: withText ? string.Join(' ', text) : null));
        }

        return specs;
    }

    private static double Normal(Random rng)
    {
        // Box–Muller.
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

/// <summary>One small forest trained once for the tests that only read it.</summary>
public sealed class TrainedForestFixture
{
    internal static readonly QrfOptions SmallForest = new() { Trees = 30, Seed = 7 };

    public TrainedForestFixture()
    {
        Training = SyntheticLengths.Generate(2000, seed: 1);
        HeldOut = SyntheticLengths.Generate(2000, seed: 2);
        Predictor = QrfLengthPredictor.Train(Training, SmallForest);
    }

    internal List<RequestSpec> Training { get; }

    internal List<RequestSpec> HeldOut { get; }

    internal QrfLengthPredictor Predictor { get; }
}
