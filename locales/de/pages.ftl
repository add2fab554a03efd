# authgate auf Deutsch.

## Jede Seite
language = Sprache
help = Hilfe

## Anmeldung
login-title = Anmelden
login-continue-to = Anmelden, um mit { $app } fortzufahren
login-username = Benutzername
login-password = Passwort
login-submit = Anmelden
login-passkey = Mit einem Passkey anmelden
login-with = Mit { $provider } anmelden
login-failed = Benutzername oder Passwort ist falsch.
signing-in-title = Anmeldung
signing-in = Anmeldung läuft…
signing-in-link = Weiter zur Anmeldeseite
signed-in-title = Angemeldet
signed-in = Sie sind als { $user } angemeldet.
signed-out-title = Abgemeldet
signed-out = Sie sind abgemeldet.
continue = Weiter

## Zweiter Faktor
second-factor-title = Zweiter Faktor
second-factor-intro = Angemeldet als { $user }. Geben Sie den Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.
second-factor-code = Code
second-factor-submit = Bestätigen
second-factor-passkey = Passkey verwenden
enrol-title = Zweiten Faktor einrichten
enrol-intro = Für { $user }: Scannen Sie diesen Code mit einer Authenticator-App oder geben Sie den Schlüssel ein, und tragen Sie dann den Code ein, den die App anzeigt.
enrol-qr-alt = QR-Code des Authenticator-Schlüssels
enrol-key = Schlüssel
enrol-link = Link
enrol-code = Code aus der App
enrol-submit = Bestätigen
recovery-title = Wiederherstellungscodes
recovery-intro = Bewahren Sie diese Codes sicher auf. Jeder meldet Sie einmal an, falls Sie Ihren Authenticator verlieren. Sie werden nur jetzt angezeigt.

## Konto
account-title = Ihr Konto
signed-in-as = Angemeldet als { $user }.
account-factors = Zweite Faktoren
account-no-factors = Noch keine.
factor-totp = Authenticator-App
factor-passkey = Passkey
factor-app-password = App-Passwort
factor-second-factor-only = nur als zweiter Faktor
factor-added = hinzugefügt { $date }
factor-last-used = zuletzt verwendet { $date }
factor-never = nie
remove = Entfernen
recovery-codes-left =
    { $count ->
        [one] { $count } unbenutzter Wiederherstellungscode.
       *[other] { $count } unbenutzte Wiederherstellungscodes.
    }
account-add-totp = Authenticator-App hinzufügen
account-replace-totp = Authenticator-App ersetzen
account-add-passkey = Passkey hinzufügen
account-new-recovery-codes = Neue Wiederherstellungscodes
app-passwords-title = App-Passwörter
app-passwords-intro = Für Programme, die sich nicht im Browser anmelden können (WebDAV, git, Skripte): Benutzername und App-Passwort verwenden.
app-password-new = Ihr neues App-Passwort, nur jetzt sichtbar:
revoke = Widerrufen
app-password-name = Name
app-password-placeholder = Laptop WebDAV
app-password-create = App-Passwort erstellen
sessions-title = Sitzungen
sessions-started = Angemeldet
sessions-last-seen = Zuletzt gesehen
sessions-from = Von
sessions-apps = Anwendungen
sessions-this-browser = dieser Browser
sign-out = Abmelden
sessions-end-others = Meine anderen Sitzungen abmelden
notice-passkey-added = Passkey hinzugefügt.
notice-factor-removed = Faktor entfernt.
notice-app-password-revoked = App-Passwort widerrufen.
notice-session-ended = Sitzung abgemeldet.
notice-session-gone = Diese Sitzung war bereits beendet.
notice-others-ended =
    { $count ->
        [one] { $count } andere Sitzung abgemeldet.
       *[other] { $count } andere Sitzungen abgemeldet.
    }
error-last-factor = Hier sind zweite Faktoren Pflicht: Fügen Sie einen weiteren hinzu, bevor Sie diesen entfernen.

## Geräte
device-title = Gerät verbinden
device-asks = { $client } möchte in Ihrem Namen handeln.
device-asks-scopes = { $client } möchte in Ihrem Namen handeln, mit { $scopes }.
device-check-code = Bestätigen Sie nur, wenn Ihr Gerät den Code { $code } anzeigt.
approve = Erlauben
deny = Ablehnen
device-code-label = Der Code, den Ihr Gerät anzeigt

## Fehler
error-title-bad_request = Ungültige Anfrage
error-title-unauthenticated = Anmeldung erforderlich
error-title-second_factor_required = Zweiter Faktor erforderlich
error-title-forbidden = Zugriff verweigert
error-title-not_found = Nicht gefunden
error-title-method_not_allowed = Methode nicht erlaubt
error-title-payload_too_large = Anfrage zu groß
error-title-uri_too_long = Adresse zu lang
error-title-rate_limited = Zu viele Versuche
error-title-sign_in_expired = Anmeldung abgelaufen
error-title-form_expired = Anmeldeformular abgelaufen
error-title-sign_in_failed = Anmeldung fehlgeschlagen
error-title-access_denied = Anmeldung fehlgeschlagen
error-title-logout_rejected = Abmeldung abgelehnt
error-title-busy = Ausgelastet
error-title-internal_error = Interner Fehler
error-title-bad_gateway = Anwendung nicht erreichbar
error-title-unavailable = Dienst nicht verfügbar
error-title-gateway_timeout = Zeitüberschreitung
error-title-authorize = Anmeldeanfrage abgelehnt
error-no-route = Unter dieser Adresse ist keine Anwendung eingerichtet.
error-method = Diese Adresse beantwortet diese Methode nicht.
error-too-large = Der Inhalt der Anfrage ist zu groß.
error-uri-too-long = Die Adresse der Anfrage ist zu lang.
error-sign-in-required = Eine Anmeldung ist erforderlich.
error-second-factor = Diese Anwendung verlangt einen zweiten Faktor: Melden Sie sich erneut damit an.
error-basic = Ein gültiges App-Passwort ist erforderlich (HTTP Basic).
error-forbidden = Sie sind angemeldet, dürfen diese Anwendung aber nicht verwenden.
error-rate-limited = Zu viele Anmeldeversuche von Ihrer Adresse; versuchen Sie es in { $seconds } s erneut.
error-sign-in-expired = Diese Anmeldeanfrage ist abgelaufen oder wurde schon verwendet; kehren Sie zur Anwendung zurück und versuchen Sie es erneut.
error-form-expired = Das Anmeldeformular kam nicht von dieser Seite oder ist abgelaufen; gehen Sie zurück und versuchen Sie es erneut.
error-busy = Gerade laufen zu viele Anmeldungen; bitte versuchen Sie es gleich noch einmal.
error-bad-gateway = Die Anwendung ist gerade nicht erreichbar.
error-gateway-timeout = Die Anwendung hat nicht rechtzeitig geantwortet.
error-internal = In authgate ist etwas schiefgegangen.
error-not-configured = Dieses authgate hat kein(e) { $what }.
second-factor-invalid = Dieser Code ist ungültig. Versuchen Sie den aktuellen oder einen Wiederherstellungscode.
device-code-malformed = Das ist kein Code in diesem Format.
device-code-unknown = Dieser Code ist unbekannt, schon verwendet oder abgelaufen.
device-connected-title = Gerät verbunden
device-connected = Sie können zu Ihrem Gerät zurückkehren.
device-refused-title = Gerät abgelehnt
device-refused = Das Gerät wurde nicht verbunden.

## Anmeldefehler
passkey-malformed = Die Antwort des Passkeys ist fehlerhaft.
passkey-unknown = Dieser Passkey ist hier nicht bekannt. Melden Sie sich mit Ihrem Passwort an.
passkey-not-verified = Der Passkey konnte nicht überprüft werden.
passkey-no-user-verification = Der Passkey hat Ihre Identität nicht bestätigt.
passkey-expired = Der Passkey-Vorgang ist abgelaufen. Bitte versuchen Sie es erneut.
passkey-someone-else = Der Passkey-Vorgang gehört zu jemand anderem.
passkey-none = Dieses Konto hat keinen Passkey.
logout-foreign-hint = Der id_token_hint wurde nicht von diesem Anbieter ausgestellt.
sign-in-no-code = Die Antwort der Anmeldung enthält keinen Code.
upstream-gone = Dieser Identitätsanbieter ist nicht mehr eingerichtet.
upstream-not-allowed = Dieses Konto darf sich hier nicht anmelden.
upstream-no-username = Der Identitätsanbieter hat nicht gesagt, wer Sie sind.
upstream-unverified-email = Der Identitätsanbieter hat Ihre E-Mail-Adresse nicht bestätigt.
upstream-disagree = Die Antworten des Identitätsanbieters widersprechen sich.
upstream-wrong-issuer = Die Antwort der Anmeldung stammt nicht von diesem Identitätsanbieter.
upstream-no-token-endpoint = Der Identitätsanbieter hat keinen Token-Endpunkt.
upstream-code-refused = Der Identitätsanbieter hat den Anmeldecode abgelehnt (abgelaufen oder schon verwendet).
upstream-no-id-token = Der Identitätsanbieter hat kein ID-Token gesendet.
upstream-bad-id-token = Das ID-Token des Identitätsanbieters lässt sich nicht überprüfen.
upstream-malformed-id-token = Das ID-Token ist fehlerhaft.
sign-in-malformed = Die Antwort der Anmeldung ist fehlerhaft.
sign-in-code-expired = Der Anmeldecode ist abgelaufen oder wurde schon verwendet.
sign-in-completed = Diese Anmeldung ist abgelaufen oder schon abgeschlossen. Kehren Sie zur Anwendung zurück und versuchen Sie es erneut.
logout-hint-not-id-token = Der id_token_hint ist kein ID-Token, das einer Anwendung ausgestellt wurde.
logout-uri-unregistered = Die post_logout_redirect_uri ist für diese Anwendung nicht registriert.
upstream-sign-in-done = Diese Anmeldung ist abgelaufen oder schon abgeschlossen.
upstream-foreign-response = Die Antwort gehört nicht zu dieser Anmeldung.
upstream-denied = Der Identitätsanbieter hat Sie nicht angemeldet.
upstream-name-taken = Dieser Name gehört zu einem anderen Konto; der Betreiber muss username_prefix setzen.
sign-in-access-denied = Der Zugriff wurde verweigert.
sign-in-incomplete = Die Anmeldung wurde nicht abgeschlossen.
sign-in-session-ended = Ihre Sitzung endete während der Anmeldung. Bitte versuchen Sie es erneut.
logout-client-mismatch = client_id passt nicht zum id_token_hint.
error-unavailable = Die Anmeldung ist gerade nicht verfügbar; bitte versuchen Sie es gleich noch einmal.
error-upstream-unreachable = { $provider } ist gerade nicht erreichbar; versuchen Sie es gleich noch einmal oder melden Sie sich anders an.
error-directory-unavailable = Das Benutzerverzeichnis ist gerade nicht verfügbar; bitte versuchen Sie es gleich noch einmal.
error-service-unavailable = Der Dienst ist nicht verfügbar.

## Zustimmung
consent-title = { $client } erlauben?
consent-intro = { $client } möchte Ihr Konto ({ $user }) verwenden. Die Anwendung kann dann:
consent-scope-openid = Wissen, wer Sie sind
consent-scope-profile = Ihren Namen, Benutzernamen und Ihre Gruppen sehen
consent-scope-email = Ihre E-Mail-Adresse sehen
consent-scope-groups = Die Gruppen sehen, denen Sie angehören
consent-scope-offline_access = Verbunden bleiben, während Sie nicht da sind
consent-scope-address = Ihre Postanschrift sehen
consent-scope-phone = Ihre Telefonnummer sehen
consent-allow = Erlauben
consent-deny = Ablehnen
consent-withdraw-later = Sie können diese Erlaubnis jederzeit auf Ihrer Kontoseite widerrufen.
account-apps = Verbundene Anwendungen
account-apps-none = Keine Anwendung hat Zugriff auf Ihr Konto.
account-apps-can = Darf: { $scopes }
account-apps-withdraw = Zugriff entziehen
account-apps-withdrawn = { $client } hat keinen Zugriff mehr auf Ihr Konto.

## E-Mails
mail-hello = Hallo { $user },
mail-invite-subject = Ihr Konto bei { $brand }
mail-invite-body = Für Sie wurde ein Konto bei { $brand } angelegt. Öffnen Sie den Link unten, um Ihr Passwort festzulegen. Er ist einmal verwendbar und 72 Stunden lang gültig.
mail-reset-subject = Passwort bei { $brand } zurücksetzen
mail-reset-body = Jemand hat angefordert, das Passwort Ihres Kontos bei { $brand } zurückzusetzen. Öffnen Sie den Link unten, um ein neues festzulegen. Er ist einmal verwendbar und 15 Minuten lang gültig. Falls Sie das nicht waren, ignorieren Sie diese E-Mail: Ihr Passwort bleibt unverändert.
mail-password-changed-subject = Ihr Passwort bei { $brand } wurde geändert
mail-password-changed-body = Das Passwort Ihres Kontos bei { $brand } wurde soeben geändert. Falls Sie das nicht waren, wenden Sie sich sofort an Ihren Administrator.
mail-factor-added-subject = Zweiter Faktor bei { $brand } hinzugefügt
mail-factor-added-body = Ihrem Konto bei { $brand } wurde ein zweiter Faktor ({ $factor }) hinzugefügt. Falls Sie das nicht waren, wenden Sie sich sofort an Ihren Administrator.
mail-factor-removed-subject = Zweiter Faktor bei { $brand } entfernt
mail-factor-removed-body = Von Ihrem Konto bei { $brand } wurde ein zweiter Faktor ({ $factor }) entfernt. Falls Sie das nicht waren, wenden Sie sich sofort an Ihren Administrator.

## Passwörter
password-too-short = Das Passwort muss mindestens { $min } Zeichen lang sein.
password-too-guessable = Dieses Passwort ist zu leicht zu erraten. Ein Satz aus mehreren unzusammenhängenden Wörtern ist leicht zu merken und schwer zu erraten.
password-breached = Dieses Passwort steht in einer Liste geleakter Passwörter. Wählen Sie ein anderes.
password-mismatch = Die beiden Passwörter stimmen nicht überein.
set-password-title = Passwort festlegen
set-password-intro = Legen Sie das Passwort für { $user } fest.
new-password = Neues Passwort
new-password-again = Neues Passwort wiederholen
new-password-hint = Mindestens { $min } Zeichen.
save-password = Passwort speichern
link-invalid-title = Dieser Link funktioniert nicht
link-invalid = Der Link wurde bereits verwendet, ist abgelaufen oder unbekannt. Fordern Sie einen neuen an.
password-set-title = Passwort gespeichert
password-set = Ihr Passwort ist gespeichert. Sie können sich jetzt anmelden.
forgot-password = Passwort vergessen?
forgot-title = Passwort zurücksetzen
forgot-intro = Geben Sie Ihren Benutzernamen oder Ihre E-Mail-Adresse ein. Wenn ein Konto dazu passt, wird an dessen E-Mail-Adresse ein Link gesendet, mit dem Sie ein neues Passwort festlegen können.
forgot-label = Benutzername oder E-Mail-Adresse
forgot-send = Link senden
forgot-sent = Wenn ein Konto dazu passt, wurde ein Link an dessen E-Mail-Adresse gesendet. Er ist einmal verwendbar und 15 Minuten lang gültig.
account-password = Passwort
current-password = Aktuelles Passwort
change-password = Passwort ändern
password-changed = Ihr Passwort wurde geändert. Ihre anderen Sitzungen wurden abgemeldet.
password-wrong-current = Das aktuelle Passwort ist falsch.
password-managed-by-operator = Ihr Passwort wird vom Betreiber dieses Dienstes verwaltet.
password-managed-by-directory = Ihr Passwort wird im Verzeichnis Ihrer Organisation verwaltet.

## Verwaltung
admin-title = Verwaltung
admin-users = Benutzer
admin-sessions = Sitzungen
admin-app-passwords = App-Passwörter
admin-clients = Anwendungen
admin-audit = Prüfprotokoll
admin-search = Suchen
admin-new-user = Neuer Benutzer
admin-username = Benutzername
admin-email = E-Mail-Adresse
admin-display-name = Name
admin-groups = Gruppen (durch Kommas getrennt)
admin-invite = Anlegen und einladen
admin-invite-link = Senden Sie diesen Link an { $user }. Er ist einmal verwendbar und 72 Stunden lang gültig:
admin-invite-sent = { $user } wurde per E-Mail eingeladen.
admin-disable = Deaktivieren
admin-enable = Aktivieren
admin-save-groups = Gruppen speichern
admin-reset-factors = Zweite Faktoren zurücksetzen
admin-unlock = Entsperren
admin-status = Status
admin-status-active = aktiv
admin-status-invited = eingeladen
admin-status-disabled = deaktiviert
admin-source = Herkunft
admin-done = Erledigt.
admin-user = Benutzer
admin-client = Anwendung
admin-redirect-uris = Weiterleitungs-URIs
admin-grant-types = Grant-Typen
admin-event = Ereignis
admin-time = Zeit
admin-outcome = Ergebnis
admin-filter = Filtern
admin-nothing = Nichts gefunden.
admin-name-taken = Dieser Benutzername ist bereits vergeben.
admin-bad-input = Geben Sie einen Benutzernamen (ohne Leerzeichen, Kommas, Doppelpunkte oder Schrägstriche) und eine E-Mail-Adresse an.
admin-needs-smtp = Einladungen werden per E-Mail verschickt: Richten Sie zuerst [smtp] ein oder verwenden Sie authgate users add --invite.
