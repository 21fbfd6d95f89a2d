"""The accounts app's error codes, declared in core.errors."""

from __future__ import annotations

from core.errors import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, define_many

define_many(
    INVALID,
    {
        "signup_closed": ("Chức năng tự đăng ký đang tắt.", "Self sign-up is switched off."),
        "username_taken": ("Tên đăng nhập này đã có người dùng.", "This user name is taken."),
        "email_taken": (
            "Địa chỉ e-mail này đã có tài khoản. Hãy đăng nhập hoặc đặt lại mật khẩu.",
            "This e-mail address already has an account: sign in, or reset the password.",
        ),
        "password_invalid": ("Mật khẩu chưa đủ an toàn.", "The password is not strong enough."),
        "consent_service_required": (
            "Cần đồng ý cho việc xử lý dữ liệu để sử dụng dịch vụ (mục đích bắt buộc).",
            "Consent to the processing needed to use the service is required.",
        ),
        "guardian_required": (
            "Thành viên dưới 16 tuổi cần họ tên và e-mail của cha mẹ hoặc người giám hộ.",
            "Members under 16 need the name and e-mail of a parent or guardian.",
        ),
        "birth_date_invalid": ("Ngày sinh không hợp lệ.", "The date of birth is not valid."),
        "verification_link_invalid": (
            "Liên kết xác nhận không hợp lệ hoặc đã hết hạn. Hãy yêu cầu gửi lại.",
            "The confirmation link is invalid or has expired: ask for a new one.",
        ),
        "tax_code_invalid": (
            "Mã số thuế không hợp lệ (10 chữ số, hoặc 10 chữ số - 3 chữ số, với chữ số kiểm tra đúng).",
            "The tax code is not valid (10 digits, or 10-3 digits, with a correct check digit).",
        ),
        "purpose_unknown": ("Mục đích xử lý dữ liệu không tồn tại.", "Unknown data-processing purpose."),
        "export_format_unknown": (
            "Định dạng tải về không được hỗ trợ (json hoặc csv).",
            "Unknown format (json or csv).",
        ),
        "deletion_not_confirmed": (
            "Hãy nhập đúng tên đăng nhập của bạn để xác nhận xoá tài khoản.",
            "Type your user name exactly to confirm the deletion.",
        ),
        "domain_invalid": ("Tên miền e-mail không hợp lệ.", "Not a valid e-mail domain."),
    },
)
define_many(
    FORBIDDEN,
    {
        "not_organization_approver": (
            "Chỉ người phụ trách thanh toán của tổ chức hoặc quản lý phòng lab mới duyệt được.",
            "Only the organisation's billing contact or a lab manager may decide.",
        ),
        "not_registration_approver": (
            "Chỉ quản lý phòng lab mới duyệt được đăng ký tổ chức.",
            "Only a lab manager may decide on an organisation's registration.",
        ),
        "consent_required": (
            "Bạn chưa cho biết có đồng ý xử lý dữ liệu để sử dụng dịch vụ hay không: hãy chọn tại "
            "/me/privacy/ hoặc POST /api/me/consents/ trước khi thay đổi dữ liệu.",
            "You have not said whether you consent to the processing needed to use the service: choose at "
            "/me/privacy/ or POST /api/me/consents/ before changing anything.",
        ),
        "account_is_admin": (
            "Tài khoản quản trị không tự xoá được; hãy nhờ quản trị viên khác.",
            "An administrator's account cannot delete itself: ask another administrator.",
        ),
    },
)
define_many(NOT_FOUND, {"organization_not_found": ("Không tìm thấy tổ chức.", "No such organisation.")})
define_many(
    CONFLICT,
    {
        "already_member": ("Bạn đã là thành viên của tổ chức này.", "You already belong to this organisation."),
        "join_request_pending": (
            "Bạn đã gửi yêu cầu tham gia tổ chức này, đang chờ duyệt.",
            "You already asked to join this organisation; the request awaits a decision.",
        ),
        "request_already_decided": ("Yêu cầu này đã được xử lý.", "This request was already decided."),
        "tax_code_registered": (
            "Mã số thuế này đã thuộc một tổ chức trong hệ thống: hãy xin tham gia tổ chức đó.",
            "An organisation with this tax code exists already: ask to join it instead.",
        ),
        "registration_pending": (
            "Mã số thuế này đang chờ duyệt đăng ký.",
            "A registration with this tax code already awaits a decision.",
        ),
        "organization_name_taken": ("Tên tổ chức này đã có.", "An organisation with this name exists already."),
        "account_deletion_blocked": (
            "Chưa xoá được tài khoản: còn bảng kê chưa thanh toán.",
            "The account cannot be deleted yet: an unpaid statement is still open.",
        ),
        "account_already_verified": ("Tài khoản đã được xác nhận.", "The account is already confirmed."),
    },
)
