using Tempo.Core;

namespace Tempo.Llama;

/// <summary>
/// Picks a token from one row of logits: argmax when the temperature is 0, otherwise temperature scaling,
/// nucleus (top-p) truncation and a draw from the request's own seeded generator, so a seeded request
/// samples the same tokens on every run.
/// </summary>
internal sealed class TokenSampler
{
    // Tokens more than this many nats below the best cannot matter for any top-p < 1 (relative mass < 1e-9);
    // dropping them before sorting keeps nucleus sampling cheap on large vocabularies.
    private const float NegligibleGap = 20f;

    private readonly float _temperature;
    private readonly double _topP;
    private readonly Random? _random;
    private float[] _weights = [];
    private int[] _order = [];

    public TokenSampler(SamplingParams sampling)
    {
        _temperature = (float)sampling.Temperature;
        _topP = sampling.TopP is > 0 and < 1 ? sampling.TopP : 1;
        if (_temperature > 0)
        {
            _random = sampling.Seed is { } seed ? new Random(seed) : new Random(Random.Shared.Next());
        }
    }

    public int Sample(ReadOnlySpan<float> logits)
    {
        var best = ArgMax(logits);
        if (_random is null)
        {
            return best;
        }

        var max = logits[best];
        if (_weights.Length < logits.Length)
        {
            _weights = new float[logits.Length];
            _order = new int[logits.Length];
        }

        // Candidates: tokens within reach of the best one, with their unnormalised probabilities.
        var n = 0;
        var total = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            var z = (logits[i] - max) / _temperature;
            if (z > -NegligibleGap && float.IsFinite(z))
            {
                var w = MathF.Exp(z);
                _order[n] = i;
                _weights[n] = w;
                total += w;
                n++;
            }
        }

        if (_topP < 1)
        {
            // Keep the smallest most-probable set whose mass reaches top_p.
            Array.Sort(_weights, _order, 0, n, Comparer<float>.Create((a, b) => b.CompareTo(a)));
            var kept = 0;
            var mass = 0.0;
            while (kept < n && mass < _topP * total)
            {
                mass += _weights[kept++];
            }

            n = Math.Max(kept, 1);
            total = mass > 0 ? mass : _weights[0];
        }

        var u = _random.NextDouble() * total;
        for (var i = 0; i < n; i++)
        {
            u -= _weights[i];
            if (u < 0)
            {
                return _order[i];
            }
        }

        return _order[n - 1];
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }
}
