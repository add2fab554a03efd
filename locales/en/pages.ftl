# authgate's pages in English: the reference catalogue. Every other language has every key.

## Every page
language = Language
help = Help

## Sign-in
login-title = Sign in
login-continue-to = Sign in to continue to { $app }
login-username = Username
login-password = Password
login-submit = Sign in
login-passkey = Sign in with a passkey
login-with = Sign in with { $provider }
login-failed = Invalid username or password.
signing-in-title = Signing in
signing-in = Signing in…
signing-in-link = Continue to the sign-in page
signed-in-title = Signed in
signed-in = You are signed in as { $user }.
signed-out-title = Signed out
signed-out = You are signed out.
continue = Continue

## Second factor
second-factor-title = Second factor
second-factor-intro = Signed in as { $user }. Enter the code your authenticator app shows, or one of your recovery codes.
second-factor-code = Code
second-factor-submit = Verify
second-factor-passkey = Use a passkey
enrol-title = Set up a second factor
enrol-intro = For { $user }: scan this code with an authenticator app, or type the key in, then enter the code the app shows.
enrol-qr-alt = QR code of the authenticator key
enrol-key = Key
enrol-link = Link
enrol-code = Code from the app
enrol-submit = Confirm
recovery-title = Recovery codes
recovery-intro = Keep these somewhere safe. Each one signs you in once if you lose your authenticator. They are shown only now.

## Account
account-title = Your account
signed-in-as = Signed in as { $user }.
account-factors = Second factors
account-no-factors = None yet.
factor-totp = authenticator app
factor-passkey = passkey
factor-app-password = app password
factor-second-factor-only = second factor only
factor-added = added { $date }
factor-last-used = last used { $date }
factor-never = never
remove = Remove
recovery-codes-left =
    { $count ->
        [one] { $count } unused recovery code.
       *[other] { $count } unused recovery codes.
    }
account-add-totp = Add an authenticator app
account-replace-totp = Replace the authenticator app
account-add-passkey = Add a passkey
account-new-recovery-codes = New recovery codes
app-passwords-title = App passwords
app-passwords-intro = For clients that cannot sign in with a browser (WebDAV, git, scripts): use your username and an app password.
app-password-new = Your new app password, shown only now:
revoke = Revoke
app-password-name = Name
app-password-placeholder = laptop WebDAV
app-password-create = Create an app password
sessions-title = Sessions
sessions-started = Signed in
sessions-last-seen = Last seen
sessions-from = From
sessions-apps = Applications
sessions-this-browser = this browser
sign-out = Sign out
sessions-end-others = Sign out my other sessions
notice-passkey-added = Passkey added.
notice-factor-removed = Factor removed.
notice-app-password-revoked = App password revoked.
notice-session-ended = Session signed out.
notice-session-gone = That session had already ended.
notice-others-ended =
    { $count ->
        [one] Signed out { $count } other session.
       *[other] Signed out { $count } other sessions.
    }
error-last-factor = Second factors are required here: add another before removing this one.

## Devices
device-title = Connect a device
device-asks = { $client } asks to act for you.
device-asks-scopes = { $client } asks to act for you, with { $scopes }.
device-check-code = Approve only if your device shows the code { $code }.
approve = Approve
deny = Deny
device-code-label = The code your device shows

## Errors: titles by the JSON error code, and their sentences
error-title-bad_request = Bad request
error-title-unauthenticated = Sign-in required
error-title-second_factor_required = Second factor required
error-title-forbidden = Access denied
error-title-not_found = Not found
error-title-method_not_allowed = Method not allowed
error-title-payload_too_large = Request too large
error-title-uri_too_long = Address too long
error-title-rate_limited = Too many attempts
error-title-sign_in_expired = Sign-in expired
error-title-form_expired = Sign-in form expired
error-title-sign_in_failed = Sign-in failed
error-title-access_denied = Sign-in failed
error-title-logout_rejected = Sign-out rejected
error-title-busy = Busy
error-title-internal_error = Internal error
error-title-bad_gateway = Bad gateway
error-title-unavailable = Service unavailable
error-title-gateway_timeout = Gateway timeout
error-title-authorize = Sign-in request rejected
error-no-route = No application is configured at this address.
error-method = This address does not answer that method.
error-too-large = The request body is too large.
error-uri-too-long = The request URI is too long.
error-sign-in-required = Sign-in is required.
error-second-factor = This application needs a second factor: sign in again with it.
error-basic = A valid app password is required (HTTP Basic).
error-forbidden = You are signed in but not allowed to use this application.
error-rate-limited = Too many sign-in attempts from your address; try again in { $seconds } s.
error-sign-in-expired = This sign-in request has expired or was already used; go back to the application and try again.
error-form-expired = The sign-in form was not submitted from this site or has expired; go back and try again.
error-busy = Too many sign-ins are in progress; please try again in a moment.
error-bad-gateway = The application is not reachable right now.
error-gateway-timeout = The application did not answer in time.
error-internal = Something went wrong inside authgate.
error-not-configured = This authgate has no { $what }.
second-factor-invalid = That code is not valid. Try the current one, or a recovery code.
device-code-malformed = That is not a code of this form.
device-code-unknown = This code is unknown, used or expired.
device-connected-title = Device connected
device-connected = You can return to your device.
device-refused-title = Device refused
device-refused = The device was not connected.

## Sign-in failures (the messages of GatewayError::SignInFailed, SignInDenied, LogoutRejected)
passkey-malformed = The passkey answer is malformed.
passkey-unknown = This passkey is not known here. Sign in with your password.
passkey-not-verified = The passkey could not be verified.
passkey-no-user-verification = The passkey did not verify who you are.
passkey-expired = The passkey ceremony has expired. Please try again.
passkey-someone-else = The passkey ceremony belongs to someone else.
passkey-none = This account has no passkey.
logout-foreign-hint = The id_token_hint was not issued by this provider.
sign-in-no-code = The sign-in response has no code.
upstream-gone = The identity provider is no longer configured.
upstream-not-allowed = This account is not allowed to sign in here.
upstream-no-username = The identity provider did not say who you are.
upstream-unverified-email = The identity provider has not verified your email.
upstream-disagree = The identity provider's answers disagree.
upstream-wrong-issuer = The sign-in response is not from this identity provider.
upstream-no-token-endpoint = The identity provider has no token endpoint.
upstream-code-refused = The identity provider refused the sign-in code (expired or already used).
upstream-no-id-token = The identity provider sent no ID token.
upstream-bad-id-token = The identity provider's ID token does not verify.
upstream-malformed-id-token = The ID token is malformed.
sign-in-malformed = The sign-in response is malformed.
sign-in-code-expired = The sign-in code has expired or was already used.
sign-in-completed = This sign-in has expired or was already completed. Go back to the application and try again.
logout-hint-not-id-token = The id_token_hint is not an ID token issued to an application.
logout-uri-unregistered = The post_logout_redirect_uri is not registered for this application.
upstream-sign-in-done = This sign-in has expired or was already completed.
upstream-foreign-response = The sign-in response does not belong to this sign-in.
upstream-denied = The identity provider did not sign you in.
upstream-name-taken = This name belongs to another account; the operator must set username_prefix.
sign-in-access-denied = Access was denied.
sign-in-incomplete = The sign-in did not complete.
sign-in-session-ended = Your session ended during sign-in. Please try again.
logout-client-mismatch = client_id does not match the id_token_hint.
error-unavailable = Sign-in is unavailable right now; please try again shortly.
error-upstream-unreachable = { $provider } cannot be reached right now; try again shortly, or sign in another way.
error-directory-unavailable = The user directory is unavailable right now; please try again shortly.
error-service-unavailable = The service is unavailable.

## Consent (an app asks to use the account)
consent-title = Allow { $client }?
consent-intro = { $client } asks to use your account ({ $user }). It will be able to:
consent-scope-openid = Know who you are
consent-scope-profile = See your name, user name and groups
consent-scope-email = See your email address
consent-scope-groups = See the groups you belong to
consent-scope-offline_access = Stay connected while you are away
consent-scope-address = See your postal address
consent-scope-phone = See your phone number
consent-allow = Allow
consent-deny = Deny
consent-withdraw-later = You can withdraw this at any time on your account page.
account-apps = Connected apps
account-apps-none = No app has access to your account.
account-apps-can = Can: { $scopes }
account-apps-withdraw = Withdraw access
account-apps-withdrawn = { $client } no longer has access to your account.

## Mail
mail-hello = Hello { $user },
mail-invite-subject = Your account at { $brand }
mail-invite-body = An account has been made for you at { $brand }. Open the link below to choose your password. It works once, for 72 hours.
mail-reset-subject = Reset your password at { $brand }
mail-reset-body = Someone asked to reset the password of your account at { $brand }. Open the link below to choose a new one. It works once, for 15 minutes. If it was not you, ignore this mail: your password stays as it is.
mail-password-changed-subject = Your password at { $brand } was changed
mail-password-changed-body = The password of your account at { $brand } was just changed. If it was not you, tell your administrator at once.
mail-factor-added-subject = A second factor was added at { $brand }
mail-factor-added-body = A second factor ({ $factor }) was added to your account at { $brand }. If it was not you, tell your administrator at once.
mail-factor-removed-subject = A second factor was removed at { $brand }
mail-factor-removed-body = A second factor ({ $factor }) was removed from your account at { $brand }. If it was not you, tell your administrator at once.

## Passwords
password-too-short = The password must have at least { $min } characters.
password-too-guessable = This password is too easy to guess. A phrase of several unrelated words is easy to remember and hard to guess.
password-breached = This password is in a list of leaked passwords. Choose another one.
password-mismatch = The two passwords differ.
set-password-title = Choose your password
set-password-intro = Choose the password of { $user }.
new-password = New password
new-password-again = New password, again
new-password-hint = At least { $min } characters.
save-password = Save the password
link-invalid-title = This link does not work
link-invalid = The link was used, has expired or is unknown. Ask for a new one.
password-set-title = Password saved
password-set = Your password is saved. You can sign in now.
forgot-password = Forgot your password?
forgot-title = Reset your password
forgot-intro = Give your user name or email address. If an account matches, a link to choose a new password is sent to its email address.
forgot-label = User name or email address
forgot-send = Send the link
forgot-sent = If an account matches, a link has been sent to its email address. It works once, for 15 minutes.
account-password = Password
current-password = Current password
change-password = Change password
password-changed = Your password was changed. Your other sessions were signed out.
password-wrong-current = The current password is wrong.
password-managed-by-operator = Your password is managed by the operator of this service.
password-managed-by-directory = Your password is managed by your organisation's directory.

## Administration
admin-title = Administration
admin-users = Users
admin-sessions = Sessions
admin-app-passwords = App passwords
admin-clients = Applications
admin-audit = Audit trail
admin-search = Search
admin-new-user = New user
admin-username = User name
admin-email = Email address
admin-display-name = Name
admin-groups = Groups (separated by commas)
admin-invite = Create and invite
admin-invite-link = Send this link to { $user }. It works once, for 72 hours:
admin-invite-sent = { $user } was invited by mail.
admin-disable = Disable
admin-enable = Enable
admin-save-groups = Save groups
admin-reset-factors = Reset second factors
admin-unlock = Unlock
admin-status = Status
admin-status-active = active
admin-status-invited = invited
admin-status-disabled = disabled
admin-source = Source
admin-done = Done.
admin-user = User
admin-client = Application
admin-redirect-uris = Redirect URIs
admin-grant-types = Grants
admin-event = Event
admin-time = Time
admin-outcome = Outcome
admin-filter = Filter
admin-nothing = Nothing found.
admin-name-taken = This user name is taken.
admin-bad-input = Give a user name (without spaces, commas, colons or slashes) and an email address.
admin-needs-smtp = Invitations go by mail: set [smtp] first, or use authgate users add --invite.
