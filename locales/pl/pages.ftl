# authgate po polsku.

language = Język
help = Pomoc

login-title = Zaloguj się
login-continue-to = Zaloguj się, aby przejść do { $app }
login-username = Nazwa użytkownika
login-password = Hasło
login-submit = Zaloguj się
login-passkey = Zaloguj się kluczem dostępu
login-with = Zaloguj się przez { $provider }
login-failed = Nieprawidłowa nazwa użytkownika lub hasło.
signing-in-title = Logowanie
signing-in = Trwa logowanie…
signing-in-link = Przejdź do strony logowania
signed-in-title = Zalogowano
signed-in = Zalogowano jako { $user }.
signed-out-title = Wylogowano
signed-out = Wylogowano.
continue = Dalej

second-factor-title = Drugi składnik
second-factor-intro = Zalogowano jako { $user }. Wpisz kod z aplikacji uwierzytelniającej albo jeden z kodów odzyskiwania.
second-factor-code = Kod
second-factor-submit = Sprawdź
second-factor-passkey = Użyj klucza dostępu
enrol-title = Skonfiguruj drugi składnik
enrol-intro = Dla { $user }: zeskanuj ten kod aplikacją uwierzytelniającą lub wpisz klucz, a następnie wpisz kod wyświetlony przez aplikację.
enrol-qr-alt = Kod QR klucza uwierzytelniającego
enrol-key = Klucz
enrol-link = Link
enrol-code = Kod z aplikacji
enrol-submit = Potwierdź
recovery-title = Kody odzyskiwania
recovery-intro = Przechowuj je w bezpiecznym miejscu. Każdy pozwala zalogować się raz, jeśli zgubisz aplikację uwierzytelniającą. Są wyświetlane tylko teraz.

account-title = Twoje konto
signed-in-as = Zalogowano jako { $user }.
account-factors = Drugie składniki
account-no-factors = Jeszcze żadnego.
factor-totp = aplikacja uwierzytelniająca
factor-passkey = klucz dostępu
factor-app-password = hasło aplikacji
factor-second-factor-only = tylko jako drugi składnik
factor-added = dodano { $date }
factor-last-used = ostatnio użyto { $date }
factor-never = nigdy
remove = Usuń
recovery-codes-left =
    { $count ->
        [one] { $count } niewykorzystany kod odzyskiwania.
        [few] { $count } niewykorzystane kody odzyskiwania.
       *[many] { $count } niewykorzystanych kodów odzyskiwania.
    }
account-add-totp = Dodaj aplikację uwierzytelniającą
account-replace-totp = Zastąp aplikację uwierzytelniającą
account-add-passkey = Dodaj klucz dostępu
account-new-recovery-codes = Nowe kody odzyskiwania
app-passwords-title = Hasła aplikacji
app-passwords-intro = Dla programów, które nie mogą logować się przez przeglądarkę (WebDAV, git, skrypty): użyj nazwy użytkownika i hasła aplikacji.
app-password-new = Twoje nowe hasło aplikacji, widoczne tylko teraz:
revoke = Unieważnij
app-password-name = Nazwa
app-password-placeholder = WebDAV na laptopie
app-password-create = Utwórz hasło aplikacji
sessions-title = Sesje
sessions-started = Zalogowano
sessions-last-seen = Ostatnia aktywność
sessions-from = Skąd
sessions-apps = Aplikacje
sessions-this-browser = ta przeglądarka
sign-out = Wyloguj się
sessions-end-others = Wyloguj moje pozostałe sesje
notice-passkey-added = Dodano klucz dostępu.
notice-factor-removed = Usunięto składnik.
notice-app-password-revoked = Unieważniono hasło aplikacji.
notice-session-ended = Wylogowano sesję.
notice-session-gone = Ta sesja już się zakończyła.
notice-others-ended =
    { $count ->
        [one] Wylogowano { $count } inną sesję.
        [few] Wylogowano { $count } inne sesje.
       *[many] Wylogowano { $count } innych sesji.
    }
error-last-factor = Drugie składniki są tu wymagane: dodaj kolejny, zanim usuniesz ten.

device-title = Połącz urządzenie
device-asks = { $client } prosi o działanie w Twoim imieniu.
device-asks-scopes = { $client } prosi o działanie w Twoim imieniu, z { $scopes }.
device-check-code = Zatwierdź tylko, jeśli Twoje urządzenie pokazuje kod { $code }.
approve = Zatwierdź
deny = Odrzuć
device-code-label = Kod wyświetlany przez urządzenie

error-title-bad_request = Nieprawidłowe żądanie
error-title-unauthenticated = Wymagane logowanie
error-title-second_factor_required = Wymagany drugi składnik
error-title-forbidden = Odmowa dostępu
error-title-not_found = Nie znaleziono
error-title-method_not_allowed = Niedozwolona metoda
error-title-payload_too_large = Zbyt duże żądanie
error-title-uri_too_long = Zbyt długi adres
error-title-rate_limited = Zbyt wiele prób
error-title-sign_in_expired = Logowanie wygasło
error-title-form_expired = Formularz wygasł
error-title-sign_in_failed = Logowanie nieudane
error-title-access_denied = Logowanie nieudane
error-title-logout_rejected = Odmowa wylogowania
error-title-busy = Zajęte
error-title-internal_error = Błąd wewnętrzny
error-title-bad_gateway = Aplikacja niedostępna
error-title-unavailable = Usługa niedostępna
error-title-gateway_timeout = Przekroczono czas
error-title-authorize = Odrzucono żądanie logowania
error-no-route = Pod tym adresem nie skonfigurowano żadnej aplikacji.
error-method = Ten adres nie obsługuje tej metody.
error-too-large = Treść żądania jest zbyt duża.
error-uri-too-long = Adres żądania jest zbyt długi.
error-sign-in-required = Wymagane jest zalogowanie.
error-second-factor = Ta aplikacja wymaga drugiego składnika: zaloguj się ponownie, używając go.
error-basic = Wymagane jest prawidłowe hasło aplikacji (HTTP Basic).
error-forbidden = Jesteś zalogowany, ale nie możesz korzystać z tej aplikacji.
error-rate-limited = Zbyt wiele prób logowania z Twojego adresu; spróbuj ponownie za { $seconds } s.
error-sign-in-expired = To żądanie logowania wygasło lub zostało już użyte; wróć do aplikacji i spróbuj ponownie.
error-form-expired = Formularz nie został wysłany z tej strony lub wygasł; wróć i spróbuj ponownie.
error-busy = Trwa zbyt wiele logowań; spróbuj ponownie za chwilę.
error-bad-gateway = Aplikacja jest teraz niedostępna.
error-gateway-timeout = Aplikacja nie odpowiedziała na czas.
error-internal = W authgate coś poszło nie tak.
error-not-configured = To authgate nie ma: { $what }.
second-factor-invalid = Ten kod jest nieprawidłowy. Spróbuj aktualnego albo kodu odzyskiwania.
device-code-malformed = To nie jest kod w tym formacie.
device-code-unknown = Ten kod jest nieznany, wykorzystany lub wygasł.
device-connected-title = Połączono urządzenie
device-connected = Możesz wrócić do urządzenia.
device-refused-title = Odrzucono urządzenie
device-refused = Urządzenie nie zostało połączone.

passkey-malformed = Odpowiedź klucza dostępu jest nieprawidłowa.
passkey-unknown = Ten klucz dostępu nie jest tu znany. Zaloguj się hasłem.
passkey-not-verified = Nie udało się zweryfikować klucza dostępu.
passkey-no-user-verification = Klucz dostępu nie potwierdził Twojej tożsamości.
passkey-expired = Operacja klucza dostępu wygasła. Spróbuj ponownie.
passkey-someone-else = Operacja klucza dostępu należy do kogoś innego.
passkey-none = To konto nie ma klucza dostępu.
logout-foreign-hint = id_token_hint nie został wydany przez tego dostawcę.
sign-in-no-code = Odpowiedź logowania nie zawiera kodu.
upstream-gone = Ten dostawca tożsamości nie jest już skonfigurowany.
upstream-not-allowed = To konto nie może się tu logować.
upstream-no-username = Dostawca tożsamości nie podał, kim jesteś.
upstream-unverified-email = Dostawca tożsamości nie zweryfikował Twojego adresu e-mail.
upstream-disagree = Odpowiedzi dostawcy tożsamości są ze sobą sprzeczne.
upstream-wrong-issuer = Odpowiedź logowania nie pochodzi od tego dostawcy tożsamości.
upstream-no-token-endpoint = Dostawca tożsamości nie ma punktu końcowego tokenów.
upstream-code-refused = Dostawca tożsamości odrzucił kod logowania (wygasł lub został użyty).
upstream-no-id-token = Dostawca tożsamości nie wysłał tokenu ID.
upstream-bad-id-token = Nie można zweryfikować tokenu ID dostawcy.
upstream-malformed-id-token = Token ID jest nieprawidłowy.
sign-in-malformed = Odpowiedź logowania jest nieprawidłowa.
sign-in-code-expired = Kod logowania wygasł lub został już użyty.
sign-in-completed = To logowanie wygasło lub zostało już zakończone. Wróć do aplikacji i spróbuj ponownie.
logout-hint-not-id-token = id_token_hint nie jest tokenem ID wydanym aplikacji.
logout-uri-unregistered = post_logout_redirect_uri nie jest zarejestrowany dla tej aplikacji.
upstream-sign-in-done = To logowanie wygasło lub zostało już zakończone.
upstream-foreign-response = Odpowiedź nie należy do tego logowania.
upstream-denied = Dostawca tożsamości Cię nie zalogował.
upstream-name-taken = Ta nazwa należy do innego konta; operator musi ustawić username_prefix.
sign-in-access-denied = Odmówiono dostępu.
sign-in-incomplete = Logowanie nie zostało zakończone.
sign-in-session-ended = Twoja sesja zakończyła się w trakcie logowania. Spróbuj ponownie.
logout-client-mismatch = client_id nie pasuje do id_token_hint.
error-unavailable = Logowanie jest teraz niedostępne; spróbuj ponownie za chwilę.
error-upstream-unreachable = { $provider } jest teraz nieosiągalny; spróbuj ponownie za chwilę lub zaloguj się inaczej.
error-directory-unavailable = Katalog użytkowników jest teraz niedostępny; spróbuj ponownie za chwilę.
error-service-unavailable = Usługa jest niedostępna.

consent-title = Zezwolić aplikacji { $client }?
consent-intro = Aplikacja { $client } prosi o dostęp do Twojego konta ({ $user }). Będzie mogła:
consent-scope-openid = Wiedzieć, kim jesteś
consent-scope-profile = Widzieć Twoje imię i nazwisko, nazwę użytkownika i grupy
consent-scope-email = Widzieć Twój adres e-mail
consent-scope-groups = Widzieć grupy, do których należysz
consent-scope-offline_access = Zachować dostęp podczas Twojej nieobecności
consent-scope-address = Widzieć Twój adres pocztowy
consent-scope-phone = Widzieć Twój numer telefonu
consent-allow = Zezwól
consent-deny = Odrzuć
consent-withdraw-later = Tę zgodę możesz w każdej chwili cofnąć na stronie swojego konta.
account-apps = Połączone aplikacje
account-apps-none = Żadna aplikacja nie ma dostępu do Twojego konta.
account-apps-can = Może: { $scopes }
account-apps-withdraw = Cofnij dostęp
account-apps-withdrawn = Aplikacja { $client } nie ma już dostępu do Twojego konta.
