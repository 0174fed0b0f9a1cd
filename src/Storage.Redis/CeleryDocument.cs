using System.Globalization;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// A result as Celery's Redis backend stores it: <c>{"status", "result", "traceback",
/// "children", "date_done", "task_id", ...}</c> with the result as a JSON value, so a Python
/// Celery client reads what .NET wrote and the reverse. What Celery has no field for (a
/// payload that is not JSON, the expiry instant) goes in <c>rg_</c> fields Celery ignores.
/// </summary>
/// <remarks>
/// In parts by concern: writing a task's document (CeleryDocument.Write.cs), reading one
/// (CeleryDocument.Read.cs), and Celery's result tuples, as a task's children and as a group's
/// document (CeleryDocument.Tuples.cs). This part holds what they share: Celery's date form.
/// </remarks>
internal static partial class CeleryDocument
{
    // Celery writes naive UTC timestamps with microseconds: 2026-11-24T10:16:23.442966.
    private const string DateFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff";

    /// <summary>A <c>date_done</c> as Celery writes it.</summary>
    private static string FormatDate(DateTimeOffset date) => date.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture);

    // Celery writes isoformat(): microseconds and no offset (ResultGrid's form), or other ISO forms.
    private static DateTimeOffset ParseDate(string text) =>
        DateTimeOffset.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact)
            ? exact
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
