// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Tabswarm's cumulative Merkle distributor
/// @notice Pays each account what its latest leaf says it has earned in total, minus what it
/// has already claimed. One root per epoch; a leaf is `(account, cumulativeAmount)`, hashed
/// twice as OpenZeppelin's StandardMerkleTree does, so a leaf can never pass for an inner
/// node. Amounts only grow, so a replayed or repeated claim pays nothing.
/// @dev Pausing is OpenZeppelin's `Pausable` interface (`paused()`, `Paused`, `Unpaused`,
/// `EnforcedPause`, `ExpectedPause`), but its flag shares a slot with `totalClaimed`: every
/// claim reads the one and writes the other, so they cost one cold slot, not two (2,100 gas).
contract CumulativeMerkleDistributor is Ownable2Step {
    using SafeERC20 for IERC20;

    struct Claim {
        address account;
        uint256 cumulativeAmount;
        bytes32[] proof;
    }

    /// @notice The ERC-20 token claims are paid in.
    IERC20 public immutable token;
    /// @notice The root of the latest epoch's tree.
    bytes32 public merkleRoot;
    /// @notice The latest epoch posted (0 before the first).
    uint64 public epoch;
    /// @notice Who may post roots: the coordinator's key, rotated by the owner.
    address public rootPoster;
    /// @notice The sum of every leaf of the latest root: what all claims together may pay.
    uint256 public cumulativeTotal;
    /// @dev What has been paid out over all claims (see `totalClaimed()`), and the pause flag.
    uint248 private _totalClaimed;
    bool private _paused;
    /// @notice What each account has been paid over all its claims.
    mapping(address account => uint256) public claimed;

    event RootPosted(uint64 indexed epoch, bytes32 root, uint256 cumulativeTotal);
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
    event RootPosterChanged(address indexed previousPoster, address indexed newPoster);
    event Paused(address account);
    event Unpaused(address account);

    error NotRootPoster(address caller);
    error WrongEpoch(uint64 expected, uint64 given);
    error TotalDecreased(uint256 current, uint256 given);
    error Underfunded(uint256 available, uint256 needed);
    error StaleRoot(bytes32 current, bytes32 expected);
    error InvalidProof(address account, uint256 cumulativeAmount);
    error ZeroAddress();
    error EnforcedPause();
    error ExpectedPause();

    modifier whenNotPaused() {
        if (_paused) revert EnforcedPause();
        _;
    }

    constructor(IERC20 token_, address owner_, address rootPoster_) Ownable(owner_) {
        if (address(token_) == address(0) || rootPoster_ == address(0)) revert ZeroAddress();
        token = token_;
        rootPoster = rootPoster_;
        emit RootPosterChanged(address(0), rootPoster_);
    }

    /// @notice Posts epoch `newEpoch`'s root. The contract must already hold enough tokens to
    /// pay every leaf: its balance plus what it has paid covers `newCumulativeTotal`.
    function postRoot(uint64 newEpoch, bytes32 root, uint256 newCumulativeTotal) external {
        if (msg.sender != rootPoster) revert NotRootPoster(msg.sender);
        if (newEpoch != epoch + 1) revert WrongEpoch(epoch + 1, newEpoch);
        if (newCumulativeTotal < cumulativeTotal) revert TotalDecreased(cumulativeTotal, newCumulativeTotal);
        uint256 available = token.balanceOf(address(this)) + _totalClaimed;
        if (available < newCumulativeTotal) revert Underfunded(available, newCumulativeTotal);
        epoch = newEpoch;
        merkleRoot = root;
        cumulativeTotal = newCumulativeTotal;
        emit RootPosted(newEpoch, root, newCumulativeTotal);
    }

    /// @notice Pays `account` what its leaf holds beyond what it was already paid. Anyone may
    /// submit it; the tokens go to `account`. Reverts with `StaleRoot` when the root changed
    /// since the caller read it, so a root update cannot race a claim.
    /// @return amount What this call paid (0 when everything was already claimed).
    function claim(address account, uint256 cumulativeAmount, bytes32 expectedRoot, bytes32[] calldata proof)
        external
        whenNotPaused
        returns (uint256 amount)
    {
        bytes32 root = merkleRoot;
        if (expectedRoot != root) revert StaleRoot(root, expectedRoot);
        amount = _claim(account, cumulativeAmount, proof, root);
        if (amount != 0) _addClaimed(amount);
    }

    /// @notice Several claims against one root in one transaction.
    /// @return total What the batch paid.
    function claimMany(Claim[] calldata claims, bytes32 expectedRoot)
        external
        whenNotPaused
        returns (uint256 total)
    {
        bytes32 root = merkleRoot;
        if (expectedRoot != root) revert StaleRoot(root, expectedRoot);
        for (uint256 i; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            total += _claim(c.account, c.cumulativeAmount, c.proof, root);
        }
        if (total != 0) _addClaimed(total);
    }

    /// @notice Hands root posting to another key; the old one is refused from now on.
    function setRootPoster(address newPoster) external onlyOwner {
        if (newPoster == address(0)) revert ZeroAddress();
        emit RootPosterChanged(rootPoster, newPoster);
        rootPoster = newPoster;
    }

    /// @notice What has been paid out over all claims.
    function totalClaimed() external view returns (uint256) {
        return _totalClaimed;
    }

    /// @notice Whether claims are stopped.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice Stops claims (root posts go on, so nothing earned is lost meanwhile).
    function pause() external onlyOwner whenNotPaused {
        _paused = true;
        emit Paused(msg.sender);
    }

    function unpause() external onlyOwner {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    function _addClaimed(uint256 amount) private {
        uint256 sum = _totalClaimed + amount;
        // 2^248 base units is far beyond any token's supply; past it, panic rather than wrap.
        assert(sum <= type(uint248).max);
        _totalClaimed = uint248(sum);
    }

    function _claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof, bytes32 root)
        private
        returns (uint256 amount)
    {
        // keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount)))), hashed in
        // the scratch space instead of two fresh memory buffers.
        bytes32 leaf;
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, cumulativeAmount)
            mstore(0x00, keccak256(0x00, 0x40))
            leaf := keccak256(0x00, 0x20)
        }
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(account, cumulativeAmount);
        uint256 already = claimed[account];
        if (cumulativeAmount <= already) return 0;
        unchecked {
            amount = cumulativeAmount - already;
        }
        claimed[account] = cumulativeAmount;
        token.safeTransfer(account, amount);
        emit Claimed(account, amount, cumulativeAmount);
    }
}
