using Tempo.Core;

namespace Tempo.Scheduling.Prediction;

/// <summary>Creates length predictors by registry name ("oracle", "fixed", "qrf").</summary>
public static class LengthPredictors
{
    /// <summary>The artifact's default length for the "fixed" predictor (DEFAULT_PREDICTION_LENGTH).</summary>
    public const int DefaultFixedLength = FixedLengthPredictor.DefaultLength;

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["oracle", "fixed", "qrf"];

    /// <summary>
    /// Creates the predictor named <paramref name="name"/> (case-insensitive). "qrf" needs a model: it loads
    /// <paramref name="modelPath"/> when given, otherwise trains on <paramref name="training"/> with
    /// <paramref name="qrfOptions"/>. When loading, only the bound settings of <paramref name="qrfOptions"/>
    /// (<see cref="QrfOptions.Quantile"/>, <see cref="QrfOptions.MaxBound"/>, <see cref="QrfOptions.OutlivedGrowth"/>)
    /// replace the saved ones; the forest and its features are the file's. "fixed" predicts <paramref name="fixedLength"/> for every request.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name, or "qrf" without a model path or training requests.</exception>
    /// <exception cref="InvalidDataException">The model file is not a valid QRF model.</exception>
    public static ILengthPredictor Create(
        string name,
        string? modelPath = null,
        IEnumerable<RequestSpec>? training = null,
        QrfOptions? qrfOptions = null,
        int fixedLength = DefaultFixedLength)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.Trim().ToLowerInvariant())
        {
            case "oracle":
                return new OracleLengthPredictor();
            case "fixed":
                ArgumentOutOfRangeException.ThrowIfLessThan(fixedLength, 1);
                return new FixedLengthPredictor(fixedLength);
            case "qrf" when modelPath is not null:
                var loaded = QrfLengthPredictor.Load(modelPath);
                return qrfOptions is null ? loaded : loaded.WithBoundSettingsOf(qrfOptions);
            case "qrf" when training is not null:
                return QrfLengthPredictor.Train(training, qrfOptions);
            case "qrf":
                throw new ArgumentException("length predictor 'qrf' needs a model: give a model file path or training requests.", nameof(modelPath));
            default:
                throw new ArgumentException($"unknown length predictor '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name));
        }
    }
}
