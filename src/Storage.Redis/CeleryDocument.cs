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
        TryParseOwnForm(text, out var own)
            ? own
            : DateTimeOffset.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var exact)
                ? exact
                : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>
    /// <see cref="DateFormat"/> by hand, digit by digit: the form nearly every stored document
    /// has, read for each of a migration's or a join's documents, where the framework's
    /// format-driven parse was about a quarter of a decode's samples in a profile of the migrate
    /// bench. Anything else (another ISO form, a day that does not exist) is left to the
    /// framework, which parses or names it.
    /// </summary>
    private static bool TryParseOwnForm(string text, out DateTimeOffset value)
    {
        value = default;
        var s = text.AsSpan();
        if (s.Length != 26 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' ||
            !Digits(s[..4], out var year) || !Digits(s[5..7], out var month) || !Digits(s[8..10], out var day) ||
            !Digits(s[11..13], out var hour) || !Digits(s[14..16], out var minute) || !Digits(s[17..19], out var second) ||
            !Digits(s[20..], out var micro) ||
            year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        value = new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(micro * TimeSpan.TicksPerMicrosecond));
        return true;

        static bool Digits(ReadOnlySpan<char> digits, out int number)
        {
            number = 0;
            foreach (var d in digits)
            {
                if (d is < '0' or > '9')
                {
                    return false;
                }

                number = (number * 10) + (d - '0');
            }

            return true;
        }
    }
}
